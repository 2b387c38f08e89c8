//! The ledger with the in-repo fake child: `stats` counts, latency,
//! failures by cause; `[budgets]` refuse a query before it is stored and
//! before its conversation is created, naming the budget and its reset.

use crate::common;

use std::time::Duration;

use claude_comms::hub::{ConversationFilter, Hub, HubError, SendRequest};
use claude_comms::store::{BeginQuery, NewQuery, Outcome, Store};
use common::{call, connect, fake_child_toml, hub_in, ok_value, text_of};
use serde_json::json;

fn send(source: &str, target: &str, message: &str) -> SendRequest {
    SendRequest {
        source: Some(source.into()),
        target: Some(target.into()),
        message: message.into(),
        timeout_s: Some(30),
        ..Default::default()
    }
}

async fn conversation_count(hub: &Hub) -> usize {
    hub.conversations()
        .list(ConversationFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .conversations
        .len()
}

#[tokio::test]
async fn stats_count_replies_latency_and_failures_by_cause_per_pair() {
    let home = common::home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    for i in 0..3 {
        hub.messaging()
            .send(send("marker", "arangodb", &format!("[[brief]] q{i}")))
            .await
            .unwrap();
    }
    let failed = hub
        .messaging()
        .send(send("marker", "arangodb", "[[error:no such collection]]"))
        .await;
    assert!(matches!(failed, Err(HubError::QueryFailed { .. })));
    hub.messaging()
        .send(send("arangodb", "marker", "[[brief]] other way"))
        .await
        .unwrap();

    let report = hub
        .conversations()
        .stats(None, Duration::from_secs(3600))
        .await
        .unwrap();
    let pairs: Vec<(&str, &str, u64)> = report
        .pairs
        .iter()
        .map(|p| (p.source.as_str(), p.target.as_str(), p.count))
        .collect();
    assert_eq!(
        pairs,
        [("arangodb", "marker", 1), ("marker", "arangodb", 4)]
    );
    let marker = &report.pairs[1];
    assert_eq!(marker.replies, 3);
    assert_eq!(marker.failures.get("child_error"), Some(&1), "{marker:?}");
    assert!(marker.latency_p50_ms.is_some() && marker.latency_p95_ms >= marker.latency_p50_ms);
    // claude-code-mcp gives only text: no usage, and `stats` says so.
    assert_eq!(marker.replies_without_usage, 3);
    assert_eq!((marker.tokens_in, marker.tokens_out), (0, 0));

    // --module filters to the pairs of that module; the MCP tool agrees.
    let client = connect(hub.clone()).await;
    let via_mcp = ok_value(
        &call(
            &client,
            "get_stats",
            json!({"module": "marker", "since": "1h"}),
        )
        .await,
    );
    assert_eq!(via_mcp["pairs"].as_array().unwrap().len(), 2);
    assert_eq!(via_mcp["pairs"][1]["failures"]["child_error"], 1);
    let bad = call(&client, "get_stats", json!({"since": "last tuesday"})).await;
    assert_eq!(bad.is_error, Some(true));
    assert!(text_of(&bad).contains("last tuesday"), "{}", text_of(&bad));
    let unknown = call(&client, "get_stats", json!({"module": "nobody"})).await;
    assert_eq!(unknown.is_error, Some(true));
    assert!(
        text_of(&unknown).contains("nobody"),
        "{}",
        text_of(&unknown)
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_pair_over_its_hourly_budget_is_refused_before_anything_is_stored() {
    let toml = format!(
        "{}\n[budgets.pairs.\"marker->arangodb\"]\nmax_messages_per_hour = 2\n",
        fake_child_toml()
    );
    let home = common::home_with(&toml);
    let hub = hub_in(home.path());
    let first = hub
        .messaging()
        .send(send("marker", "arangodb", "[[brief]] one"))
        .await
        .unwrap();
    hub.messaging()
        .send(send("marker", "arangodb", "[[brief]] two"))
        .await
        .unwrap();
    let conversations = conversation_count(&hub).await;

    // A new conversation over budget: refused, and no conversation is left behind.
    let refused = hub
        .messaging()
        .send(send("marker", "arangodb", "[[brief]] three"))
        .await
        .unwrap_err();
    let text = refused.to_string();
    assert!(matches!(refused, HubError::OverBudget(_)), "{text}");
    for part in [
        "budgets.pairs.\"marker->arangodb\".max_messages_per_hour",
        "2 of 2",
        "resets at",
        "UTC",
    ] {
        assert!(text.contains(part), "{part:?} missing in: {text}");
    }
    assert_eq!(conversation_count(&hub).await, conversations);

    // A follow-up in an existing conversation is refused too, and not stored.
    let mut follow_up = send("marker", "arangodb", "[[brief]] four");
    follow_up.conversation_id = Some(first.conversation_id.clone());
    let refused = hub.messaging().send(follow_up).await.unwrap_err();
    assert!(matches!(refused, HubError::OverBudget(_)), "{refused}");
    let transcript = hub
        .conversations()
        .get(&first.conversation_id, None, None)
        .await
        .unwrap();
    assert_eq!(
        transcript.messages.len(),
        2,
        "only the first query and reply"
    );

    // Another pair has no budget and is not held back.
    hub.messaging()
        .send(send("arangodb", "marker", "[[brief]] fine"))
        .await
        .unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_module_over_its_daily_cost_budget_is_refused_whoever_asks() {
    let toml = format!(
        "{}\n[budgets.modules.arangodb]\nmax_cost_usd_per_day = 0.5\n",
        fake_child_toml()
    );
    let home = common::home_with(&toml);
    let hub = hub_in(home.path());
    hub.messaging()
        .send(send("marker", "arangodb", "[[brief]] cheap"))
        .await
        .unwrap();
    // A reply that cost $0.75 (as a stream backend would report it),
    // written through the store as the hub writes replies.
    {
        let store = Store::open(&home.path().join("claude-comms.db")).unwrap();
        let c = store
            .create_conversation("claude_mcp", "arangodb", None, json!({}))
            .await
            .unwrap();
        let BeginQuery::Fresh(q) = store
            .begin_query(NewQuery {
                conversation_id: c.id,
                sender: "claude_mcp".into(),
                content: "costly".into(),
                idempotency_key: None,
                hop_chain: vec![],
                owner: "elsewhere".into(),
                template_version: None,
                context_note: None,
            })
            .await
            .unwrap()
        else {
            panic!("fresh");
        };
        store
            .finish_query(
                &q.id,
                Outcome::Reply {
                    sender: "arangodb".into(),
                    content: "answer".into(),
                    instance_id: None,
                    duration_ms: 10,
                    usage: Some(json!({"input_tokens": 100, "cache_read_input_tokens": 20, "output_tokens": 7})),
                    cost_usd: Some(0.75),
                    api_duration_ms: Some(8),
                    num_turns: Some(1),
                    backend_session: None,
                    tool_uses: Vec::new(),
                    module: Default::default(),
                },
            )
            .await
            .unwrap();
    }
    let refused = hub
        .messaging()
        .send(send("marker", "arangodb", "[[brief]] more"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("budgets.modules.arangodb.max_cost_usd_per_day")
            && refused.contains("$0.7500 of $0.5000")
            && refused.contains("00:00 UTC"),
        "{refused}"
    );
    // Asking another module is not affected.
    hub.messaging()
        .send(send("arangodb", "marker", "[[brief]] fine"))
        .await
        .unwrap();
    // The costly reply's tokens: input counts the cache reads too.
    let report = hub
        .conversations()
        .stats(Some("claude_mcp"), Duration::from_secs(3600))
        .await
        .unwrap();
    let pair = &report.pairs[0];
    assert_eq!((pair.tokens_in, pair.tokens_out), (120, 7));
    assert!((pair.cost_usd - 0.75).abs() < 1e-9);
    hub.shutdown().await;
}

#[test]
fn a_malformed_budget_is_refused_with_its_key() {
    let home =
        common::home_with("[budgets.pairs.\"marker arangodb\"]\nmax_messages_per_hour = 1\n");
    let loaded = claude_comms::config::LoadedConfig::load_with_env(&Default::default(), |k| {
        (k == claude_comms::config::HOME_ENV).then(|| home.path().display().to_string())
    });
    let Err(e) = loaded else {
        panic!("a malformed pair key was accepted");
    };
    let e = e.to_string();
    assert!(
        e.contains("budgets.pairs.\"marker arangodb\"") && e.contains("source->target"),
        "{e}"
    );
}
