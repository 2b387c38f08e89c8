//! The ledger: what each pair's queries cost (budgets) and how they ended
//! (`stats`).

use claude_comms::store::{MessageStatus, Outcome, OutcomeRow, Spend, SpendScope};
use claude_comms::time::now_ms;
use serde_json::json;

use super::Backend;
use super::helpers::{ask, dead_server, failure, pair, reply, reply_costing};

fn pair_scope(source: &str, target: &str) -> SpendScope {
    SpendScope::Pair {
        source: source.into(),
        target: target.into(),
    }
}

pub async fn spend_counts_queries_and_reply_costs_per_pair_and_target(b: &impl Backend) {
    let s = b.open("main");
    let since = now_ms();
    let c1 = pair(&s).await;
    let c2 = s
        .create_conversation("claude_mcp", "arangodb", None, json!({}))
        .await
        .unwrap();
    let c3 = s
        .create_conversation("marker", "pdf", None, json!({}))
        .await
        .unwrap();
    let q = ask(&s, &c1.id, "q1", "srv").await;
    s.finish_query(&q.id, reply_costing("r1", 0.5))
        .await
        .unwrap();
    let q = ask(&s, &c1.id, "q2", "srv").await;
    s.finish_query(&q.id, failure("no", MessageStatus::Failed, "timeout"))
        .await
        .unwrap();
    ask(&s, &c1.id, "q3, still pending", "srv").await;
    s.add_note(&c1.id, "marker", "notes cost nothing")
        .await
        .unwrap();
    let q = ask(&s, &c2.id, "q4", "srv").await;
    s.finish_query(&q.id, reply_costing("r4", 0.25))
        .await
        .unwrap();
    let q = ask(&s, &c3.id, "q5", "srv").await;
    s.finish_query(&q.id, reply_costing("r5", 1.0))
        .await
        .unwrap();

    let spend = |scope: SpendScope, since: i64| {
        let s = &s;
        async move { s.spend_since(&scope, since).await.unwrap() }
    };
    let close = |got: Spend, messages: i64, cost_usd: f64| {
        assert_eq!(got.messages, messages, "{got:?}");
        assert!((got.cost_usd - cost_usd).abs() < 1e-9, "{got:?}");
    };
    close(spend(pair_scope("marker", "arangodb"), since).await, 3, 0.5);
    close(
        spend(pair_scope("claude_mcp", "arangodb"), since).await,
        1,
        0.25,
    );
    close(
        spend(SpendScope::Target("arangodb".into()), since).await,
        4,
        0.75,
    );
    close(spend(SpendScope::Target("pdf".into()), since).await, 1, 1.0);
    close(
        spend(SpendScope::Target("marker".into()), since).await,
        0,
        0.0,
    );
    close(spend(pair_scope("pdf", "marker"), since).await, 0, 0.0);
    close(
        spend(SpendScope::Target("arangodb".into()), now_ms() + 60_000).await,
        0,
        0.0,
    );
}

pub async fn outcomes_list_replies_failures_and_interruptions_oldest_first(b: &impl Backend) {
    let s = b.open("main");
    let since = now_ms();
    let c = pair(&s).await;
    let d = s
        .create_conversation("marker", "pdf", None, json!({}))
        .await
        .unwrap();
    let q = ask(&s, &c.id, "q1", "srv").await;
    let mut answered = reply("r1");
    if let Outcome::Reply {
        usage, num_turns, ..
    } = &mut answered
    {
        *usage = Some(json!({
            "input_tokens": 3,
            "cache_creation_input_tokens": 2,
            "cache_read_input_tokens": 1,
            "output_tokens": 7
        }));
        *num_turns = Some(2);
    }
    let r = s.finish_query(&q.id, answered).await.unwrap();
    let q = ask(&s, &d.id, "q2", "srv").await;
    let e = s
        .finish_query(&q.id, failure("too slow", MessageStatus::Failed, "timeout"))
        .await
        .unwrap();
    s.register_server(&dead_server("dead")).await.unwrap();
    let lost = ask(&s, &c.id, "q3", "dead").await;
    assert_eq!(s.recover_interrupted("me", 60_000).await.unwrap(), 1);
    ask(&s, &c.id, "q4, pending", "me").await;

    let rows = s.outcomes_since(since, None).await.unwrap();
    assert_eq!(
        rows,
        vec![
            OutcomeRow {
                source: "marker".into(),
                target: "arangodb".into(),
                at: r.created_at,
                failure: None,
                duration_ms: Some(12),
                api_duration_ms: Some(9),
                num_turns: Some(2),
                input_tokens: Some(6),
                output_tokens: Some(7),
                cost_usd: Some(0.5),
            },
            OutcomeRow {
                source: "marker".into(),
                target: "pdf".into(),
                at: e.created_at,
                failure: Some("timeout".into()),
                duration_ms: Some(5),
                api_duration_ms: None,
                num_turns: None,
                input_tokens: None,
                output_tokens: None,
                cost_usd: None,
            },
            OutcomeRow {
                source: "marker".into(),
                target: "arangodb".into(),
                at: lost.created_at,
                failure: Some("interrupted".into()),
                duration_ms: None,
                api_duration_ms: None,
                num_turns: None,
                input_tokens: None,
                output_tokens: None,
                cost_usd: None,
            },
        ]
    );
    let of = |module: &str| {
        let s = &s;
        let module = module.to_string();
        async move { s.outcomes_since(since, Some(&module)).await.unwrap().len() }
    };
    assert_eq!(of("pdf").await, 1);
    assert_eq!(of("arangodb").await, 2);
    assert_eq!(of("marker").await, 3);
    assert_eq!(of("nobody").await, 0);
    assert!(
        s.outcomes_since(now_ms() + 60_000, None)
            .await
            .unwrap()
            .is_empty()
    );
    // A reply without token counts has none.
    let q = ask(&s, &c.id, "q5", "srv").await;
    let mut bare = reply("r5");
    if let Outcome::Reply { usage, .. } = &mut bare {
        *usage = Some(json!({"service_tier": "standard"}));
    }
    s.finish_query(&q.id, bare).await.unwrap();
    let last = s.outcomes_since(since, None).await.unwrap().pop().unwrap();
    assert_eq!((last.input_tokens, last.output_tokens), (None, None));
}
