//! Ask-backs (issue 29): an answering agent's question to its asker waits
//! once, is answered once, and is a message of the conversation.

use claude_comms::store::{AskBackState, ExportFormat, MessageStatus, Role};

use super::Backend;
use super::helpers::{ask, failure, pair, reply};

pub async fn a_question_back_waits_once_and_is_answered_once(b: &impl Backend) {
    let s = b.open("main");
    let other = b.open("main");
    let c = pair(&s).await;
    let q = ask(&s, &c.id, "which collection?", "srv").await;

    assert!(s.waiting_ask_back(&q.id).await.unwrap().is_none());
    let e = s.answer_ask_back(&q.id, "too early").await.unwrap_err();
    assert!(e.to_string().contains("no question"), "{e}");

    let asked = s.ask_back(&q.id, "pages or blocks?").await.unwrap();
    assert_eq!(asked.state, AskBackState::Waiting);
    assert_eq!(asked.question.role, Role::AskBack);
    assert_eq!(asked.question.sender, "arangodb");
    assert_eq!(asked.question.seq, q.seq + 1);
    // One question at a time, seen from every handle.
    let e = other.ask_back(&q.id, "and another").await.unwrap_err();
    assert!(e.to_string().contains("already waits"), "{e}");
    let waiting = other.waiting_ask_back(&q.id).await.unwrap().unwrap();
    assert_eq!(waiting.question.id, asked.question.id);

    let answered = other.answer_ask_back(&q.id, "blocks").await.unwrap();
    assert_eq!(answered.state, AskBackState::Answered);
    let answer = answered.answer.clone().unwrap();
    assert_eq!(
        (answer.role, answer.sender.as_str(), answer.content.as_str()),
        (Role::AskBackAnswer, "marker", "blocks")
    );
    // Never answered twice; a late timeout keeps the answer.
    let e = s.answer_ask_back(&q.id, "pages").await.unwrap_err();
    assert!(e.to_string().contains("no question"), "{e}");
    let closed = s
        .close_ask_back(&asked.question.id, AskBackState::Unanswered)
        .await
        .unwrap();
    assert_eq!(closed, answered);
    assert!(s.waiting_ask_back(&q.id).await.unwrap().is_none());

    // Both are messages of the conversation: listed, exported, searched;
    // and the query's outcome is still only its reply.
    let roles: Vec<Role> = s
        .messages(&c.id, None, None)
        .await
        .unwrap()
        .iter()
        .map(|m| m.role)
        .collect();
    assert_eq!(roles, [Role::Query, Role::AskBack, Role::AskBackAnswer]);
    assert!(s.outcome_of(&q.id).await.unwrap().is_none());
    let exported = s.export(&c.id, ExportFormat::Json).await.unwrap();
    assert!(exported.contains("\"ask_back_answer\""), "{exported}");
    let hits = s.search("blocks", None, 10).await.unwrap();
    assert!(hits.iter().any(|h| h.message_id == answer.id));
    let r = s
        .finish_query(&q.id, reply("use page_blocks"))
        .await
        .unwrap();
    assert_eq!(s.outcome_of(&q.id).await.unwrap().unwrap().id, r.id);
}

pub async fn a_question_back_ends_unanswered_or_with_its_query(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let q = ask(&s, &c.id, "q", "srv").await;
    let asked = s.ask_back(&q.id, "which?").await.unwrap();
    let given_up = s
        .close_ask_back(&asked.question.id, AskBackState::Unanswered)
        .await
        .unwrap();
    assert_eq!(given_up.state, AskBackState::Unanswered);
    assert!(given_up.answer.is_none());
    let e = s.answer_ask_back(&q.id, "late").await.unwrap_err();
    assert!(e.to_string().contains("no question"), "{e}");

    // A query no longer pending takes no question and no answer.
    let again = s.ask_back(&q.id, "still there?").await.unwrap();
    s.finish_query(
        &q.id,
        failure("cancelled", MessageStatus::Cancelled, "cancelled"),
    )
    .await
    .unwrap();
    let e = s.answer_ask_back(&q.id, "yes").await.unwrap_err();
    assert!(e.to_string().contains("is cancelled"), "{e}");
    let e = s.ask_back(&q.id, "hello?").await.unwrap_err();
    assert!(e.to_string().contains("is cancelled"), "{e}");
    let ended = s
        .close_ask_back(&again.question.id, AskBackState::Ended)
        .await
        .unwrap();
    assert_eq!(ended.state, AskBackState::Ended);
    // Only a question (a query) asks back.
    let e = s.ask_back(&asked.question.id, "x").await.unwrap_err();
    assert!(e.to_string().contains("not a question"), "{e}");
}

pub async fn a_question_asked_while_answering_is_a_child_of_it(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let parent = ask(&s, &c.id, "parent", "srv").await;
    let d = s
        .create_conversation("arangodb", "claude_mcp", None, serde_json::json!({}))
        .await
        .unwrap();
    let first = ask(&s, &d.id, "first child", "srv").await;
    let second = ask(&s, &d.id, "second child", "srv").await;
    assert!(s.child_queries(&parent.id).await.unwrap().is_empty());
    s.link_child_query(&first.id, &parent.id).await.unwrap();
    s.link_child_query(&second.id, &parent.id).await.unwrap();
    // Recording a link again changes nothing.
    s.link_child_query(&first.id, &parent.id).await.unwrap();
    assert_eq!(
        s.child_queries(&parent.id).await.unwrap(),
        [first.id.clone(), second.id.clone()]
    );
    assert!(s.child_queries(&first.id).await.unwrap().is_empty());
    let e = s
        .link_child_query("c0ffee00-0000-4000-8000-000000000001", &parent.id)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("unknown message"), "{e}");
}

pub async fn questions_back_are_counted_per_pair_and_state(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let before = a_moment_ago();
    let q = ask(&s, &c.id, "q", "srv").await;
    s.ask_back(&q.id, "first?").await.unwrap();
    s.answer_ask_back(&q.id, "yes").await.unwrap();
    let unanswered = s.ask_back(&q.id, "second?").await.unwrap();
    s.close_ask_back(&unanswered.question.id, AskBackState::Unanswered)
        .await
        .unwrap();
    let counts = |module: Option<&'static str>, since: i64| {
        let s = &s;
        async move {
            s.ask_backs_since(since, module)
                .await
                .unwrap()
                .into_iter()
                .map(|c| (c.source, c.target, c.state, c.count))
                .collect::<Vec<_>>()
        }
    };
    let both = vec![
        (
            "marker".to_string(),
            "arangodb".to_string(),
            AskBackState::Answered,
            1,
        ),
        (
            "marker".to_string(),
            "arangodb".to_string(),
            AskBackState::Unanswered,
            1,
        ),
    ];
    assert_eq!(counts(None, before).await, both);
    assert_eq!(counts(Some("arangodb"), before).await, both);
    assert!(counts(Some("claude_mcp"), before).await.is_empty());
    assert!(counts(None, a_moment_ago() + 61_000).await.is_empty());
}

/// Unix ms a second ago (rows written from now on are later).
fn a_moment_ago() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 1_000
}

/// Waits (at most 10 s) until `notices` tells of query `query_id`'s
/// question back.
async fn hears_of(
    notices: &mut tokio::sync::broadcast::Receiver<claude_comms::store::Notice>,
    query_id: &str,
) {
    let wanted = claude_comms::store::Notice::AskBack {
        query_id: query_id.to_string(),
    };
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while notices.recv().await.ok().as_ref() != Some(&wanted) {}
    })
    .await;
    assert!(heard.is_ok(), "no notice of {query_id}'s question back");
}

pub async fn every_handle_hears_a_question_back_asked_answered_and_closed(b: &impl Backend) {
    use claude_comms::store::Notice;
    let (s, other) = (b.open("main"), b.open("main"));
    // Only a backend with notices (PostgreSQL) tells other processes;
    // on SQLite the processes of one machine poke each other (wake.rs).
    let Some(elsewhere) = other.fleet() else {
        return;
    };
    let mut notices = elsewhere.notices();
    // Listening once the listener says so (what came before is lost).
    // Behind a transaction pooler without a listen URL nothing is heard:
    // every waiter is told to re-read about once a second instead.
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match notices.recv().await {
                Ok(n @ (Notice::Reconnected | Notice::Poll)) => return n,
                _ => continue,
            }
        }
    })
    .await
    .expect("the listener (or the poller) did not start");
    if first == Notice::Poll {
        return;
    }
    let c = pair(&s).await;
    let q = ask(&s, &c.id, "which port?", "srv").await;
    let asked = s.ask_back(&q.id, "TLS or not?").await.unwrap();
    hears_of(&mut notices, &q.id).await;
    s.answer_ask_back(&q.id, "TLS").await.unwrap();
    hears_of(&mut notices, &q.id).await;
    let again = s.ask_back(&q.id, "which certificate?").await.unwrap();
    hears_of(&mut notices, &q.id).await;
    s.close_ask_back(&again.question.id, AskBackState::Unanswered)
        .await
        .unwrap();
    hears_of(&mut notices, &q.id).await;
    // Closing what no longer waits changes nothing, and says nothing.
    s.close_ask_back(&asked.question.id, AskBackState::Ended)
        .await
        .unwrap();
    let q2 = ask(&s, &c.id, "and the host?", "srv").await;
    s.ask_back(&q2.id, "which node?").await.unwrap();
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Ok(notice @ claude_comms::store::Notice::AskBack { .. }) = notices.recv().await {
                return notice;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        next,
        claude_comms::store::Notice::AskBack { query_id: q2.id },
        "the closing of a closed question was announced"
    );
}
