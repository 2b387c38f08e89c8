//! A query's life: stored pending before it is dispatched, closed exactly
//! once by its reply or failure, found again by its idempotency key.

use claude_comms::store::{
    ConversationStatus, MessageStatus, NewQuery, Outcome, ReplyModule, Role, StoreError,
};
use claude_comms::workspace::FolderState;
use serde_json::json;

use super::Backend;
use super::helpers::{ask, duplicate, failure, fresh, pair, query, reply};

pub async fn a_query_is_pending_before_dispatch_and_finished_exactly_once(b: &impl Backend) {
    let (s, other) = (b.open("main"), b.open("main"));
    let c = pair(&s).await;
    let q = fresh(
        s.begin_query(query(&c.id, "where?", None, "srv-1"))
            .await
            .unwrap(),
    );
    assert_eq!(
        (
            q.seq,
            q.role,
            q.status,
            q.sender.as_str(),
            q.content.as_str(),
            q.owner.as_deref()
        ),
        (
            1,
            Role::Query,
            MessageStatus::Pending,
            "marker",
            "where?",
            Some("srv-1")
        )
    );
    assert_eq!(q.hop_chain, ["marker", "arangodb"]);
    assert_eq!(
        (q.reply_to.as_deref(), q.conversation_id.as_str()),
        (None, c.id.as_str())
    );
    // Stored (committed) before anything is dispatched: another process
    // sees the pending query, and no outcome yet.
    assert_eq!(other.message(&q.id).await.unwrap(), q);
    assert_eq!(
        other
            .recent_queries(Some(MessageStatus::Pending), None, 10)
            .await
            .unwrap(),
        vec![q.clone()]
    );
    assert_eq!(other.outcome_of(&q.id).await.unwrap(), None);
    assert_eq!(other.conversation(&c.id).await.unwrap().message_count, 1);

    let r = s.finish_query(&q.id, reply("here")).await.unwrap();
    assert_eq!(
        (
            r.seq,
            r.role,
            r.status,
            r.sender.as_str(),
            r.content.as_str(),
            r.reply_to.as_deref()
        ),
        (
            2,
            Role::Reply,
            MessageStatus::Delivered,
            "arangodb",
            "here",
            Some(q.id.as_str())
        )
    );
    assert_eq!(r.hop_chain, q.hop_chain);
    let closed = other.message(&q.id).await.unwrap();
    assert_eq!(closed.status, MessageStatus::Delivered);
    for m in [&closed, &r] {
        assert_eq!(m.usage, Some(json!({"input_tokens": 3})), "{m:?}");
        assert_eq!(
            (m.cost_usd, m.instance_id.as_deref(), m.duration_ms),
            (Some(0.5), Some("mcp-1"), Some(12)),
            "{m:?}"
        );
    }
    assert_eq!(other.outcome_of(&q.id).await.unwrap(), Some(r.clone()));

    // Exactly once: a second outcome, from any handle, is refused.
    for (handle, outcome) in [
        (&s, reply("again")),
        (&other, failure("late", MessageStatus::Failed, "timeout")),
    ] {
        let e = handle.finish_query(&q.id, outcome).await.unwrap_err();
        assert!(
            matches!(e, StoreError::NotPending { ref id, ref status } if *id == q.id && status == "delivered"),
            "{e}"
        );
    }
    assert_eq!(s.messages(&c.id, None, None).await.unwrap().len(), 2);
    assert_eq!(s.conversation(&c.id).await.unwrap().message_count, 2);
    let e = s.finish_query("no-such-id", reply("x")).await.unwrap_err();
    assert!(
        matches!(e, StoreError::UnknownMessage(ref id) if id == "no-such-id"),
        "{e}"
    );
}

pub async fn failures_and_cancellations_close_a_query_with_their_reason(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let failed = ask(&s, &c.id, "q1", "srv").await;
    let reason = "child died (exit code 3)";
    let e = s
        .finish_query(
            &failed.id,
            failure(reason, MessageStatus::Failed, "child_died"),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            e.role,
            e.status,
            e.seq,
            e.content.as_str(),
            e.error.as_deref(),
            e.reply_to.as_deref(),
            e.sender.as_str()
        ),
        (
            Role::Error,
            MessageStatus::Delivered,
            2,
            reason,
            Some(reason),
            Some(failed.id.as_str()),
            "arangodb"
        )
    );
    let failed = s.message(&failed.id).await.unwrap();
    assert_eq!(
        (
            failed.status,
            failed.error.as_deref(),
            failed.instance_id.as_deref(),
            failed.duration_ms,
            failed.cost_usd,
            &failed.usage
        ),
        (
            MessageStatus::Failed,
            Some(reason),
            Some("mcp-2"),
            Some(5),
            None,
            &None
        )
    );
    assert_eq!(s.outcome_of(&failed.id).await.unwrap(), Some(e));

    let cancelled = ask(&s, &c.id, "q2", "srv").await;
    s.finish_query(
        &cancelled.id,
        failure(
            "cancelled by the caller",
            MessageStatus::Cancelled,
            "cancelled",
        ),
    )
    .await
    .unwrap();
    let cancelled = s.message(&cancelled.id).await.unwrap();
    assert_eq!(cancelled.status, MessageStatus::Cancelled);
    assert_eq!(cancelled.error.as_deref(), Some("cancelled by the caller"));
    let e = s
        .finish_query(&cancelled.id, reply("late"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::NotPending { ref status, .. } if status == "cancelled"),
        "{e}"
    );
}

pub async fn a_repeated_idempotency_key_returns_the_first_query_and_outcome(b: &impl Backend) {
    let (s, other) = (b.open("main"), b.open("main"));
    let c = pair(&s).await;
    let q = fresh(
        s.begin_query(query(&c.id, "once", Some("key-1"), "srv"))
            .await
            .unwrap(),
    );
    let (earlier, outcome) = duplicate(
        other
            .begin_query(query(&c.id, "once", Some("key-1"), "srv"))
            .await
            .unwrap(),
    );
    assert_eq!((earlier, outcome), (q.clone(), None));
    // The key decides, not the text.
    let (earlier, _) = duplicate(
        s.begin_query(query(&c.id, "other text", Some("key-1"), "srv-2"))
            .await
            .unwrap(),
    );
    assert_eq!(earlier.id, q.id);

    let r = s.finish_query(&q.id, reply("done")).await.unwrap();
    let (earlier, outcome) = duplicate(
        other
            .begin_query(query(&c.id, "once", Some("key-1"), "srv"))
            .await
            .unwrap(),
    );
    assert_eq!(earlier.status, MessageStatus::Delivered);
    assert_eq!(outcome, Some(r));
    assert_eq!(
        s.messages(&c.id, None, None).await.unwrap().len(),
        2,
        "a duplicate writes nothing"
    );

    // Keys are per conversation: the same key elsewhere is a new query.
    let d = pair(&s).await;
    let elsewhere = fresh(
        s.begin_query(query(&d.id, "once", Some("key-1"), "srv"))
            .await
            .unwrap(),
    );
    assert_eq!(
        (elsewhere.seq, elsewhere.idempotency_key.as_deref()),
        (1, Some("key-1"))
    );

    // A retry of an answered query still finds it after the conversation
    // is archived; a new query there is refused.
    s.set_conversation_status(&c.id, ConversationStatus::Archived)
        .await
        .unwrap();
    let (earlier, _) = duplicate(
        s.begin_query(query(&c.id, "once", Some("key-1"), "srv"))
            .await
            .unwrap(),
    );
    assert_eq!(earlier.id, q.id);
    let e = s
        .begin_query(query(&c.id, "new", Some("key-2"), "srv"))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Archived(_)), "{e}");
}

pub async fn an_archived_or_unknown_conversation_refuses_queries(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    s.set_conversation_status(&c.id, ConversationStatus::Archived)
        .await
        .unwrap();
    let e = s
        .begin_query(query(&c.id, "q", None, "srv"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Archived(ref id) if *id == c.id),
        "{e}"
    );
    assert!(e.to_string().contains("archived"), "{e}");
    let e = s
        .begin_query(query("no-such-id", "q", None, "srv"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::UnknownConversation(ref id) if id == "no-such-id"),
        "{e}"
    );
    assert!(s.messages(&c.id, None, None).await.unwrap().is_empty());
    assert_eq!(s.conversation(&c.id).await.unwrap().message_count, 0);
}

pub async fn query_context_and_backend_session_are_stored(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let rendered = fresh(
        s.begin_query(NewQuery {
            template_version: Some("default@3".into()),
            context_note: Some("2 earlier messages left out".into()),
            ..query(&c.id, "with context", None, "srv")
        })
        .await
        .unwrap(),
    );
    assert_eq!(rendered.template_version.as_deref(), Some("default@3"));
    assert_eq!(
        rendered.context_note.as_deref(),
        Some("2 earlier messages left out")
    );
    assert_eq!(s.message(&rendered.id).await.unwrap(), rendered);

    let later = ask(&s, &c.id, "rendered later", "srv").await;
    assert_eq!(
        (later.template_version.clone(), later.context_note.clone()),
        (None, None)
    );
    s.set_query_context(&later.id, "default@4", Some("nothing left out"))
        .await
        .unwrap();
    let later = s.message(&later.id).await.unwrap();
    assert_eq!(
        (
            later.template_version.as_deref(),
            later.context_note.as_deref()
        ),
        (Some("default@4"), Some("nothing left out"))
    );
    let e = s
        .set_query_context("no-such-id", "default@4", None)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::UnknownMessage(_)), "{e}");

    // A stream reply names the session the conversation continues in,
    // stored with the reply.
    let mut answered = reply("continued");
    if let Outcome::Reply {
        backend_session, ..
    } = &mut answered
    {
        *backend_session = Some("session-7".into());
    }
    s.finish_query(&later.id, answered).await.unwrap();
    assert_eq!(
        s.conversation(&c.id)
            .await
            .unwrap()
            .backend_session
            .as_deref(),
        Some("session-7")
    );
}

/// A reply that records the answering module's folder state and reuse key.
fn reply_at(text: &str, commit: &str, dirty: bool, reused_from: Option<&str>) -> Outcome {
    let mut outcome = reply(text);
    if let Outcome::Reply { module, .. } = &mut outcome {
        *module = ReplyModule {
            state: FolderState {
                commit: Some(commit.into()),
                dirty: Some(dirty),
            },
            reuse_key: Some("key-1".into()),
            reused_from: reused_from.map(str::to_string),
        };
    }
    outcome
}

pub async fn a_reply_at_a_clean_commit_can_be_reused(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    assert_eq!(s.reusable_reply("key-1", "abc123").await.unwrap(), None);
    let q = ask(&s, &c.id, "q1", "srv").await;
    let first = s
        .finish_query(&q.id, reply_at("first", "abc123", false, None))
        .await
        .unwrap();
    assert_eq!(
        (first.module_commit.as_deref(), first.module_dirty),
        (Some("abc123"), Some(false))
    );
    assert_eq!(
        s.reusable_reply("key-1", "abc123").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(s.reusable_reply("key-1", "def456").await.unwrap(), None);
    assert_eq!(s.reusable_reply("key-2", "abc123").await.unwrap(), None);

    // A reply from a dirty folder is never reused.
    let q = ask(&s, &c.id, "q2", "srv").await;
    s.finish_query(&q.id, reply_at("dirty", "def456", true, None))
        .await
        .unwrap();
    assert_eq!(s.reusable_reply("key-1", "def456").await.unwrap(), None);

    // A reused copy points at its original, which stays the one found.
    let q = ask(&s, &c.id, "q3", "srv").await;
    let copy = s
        .finish_query(&q.id, reply_at("first", "abc123", false, Some(&first.id)))
        .await
        .unwrap();
    assert_eq!(copy.reused_from.as_deref(), Some(first.id.as_str()));
    assert_eq!(
        s.reusable_reply("key-1", "abc123").await.unwrap(),
        Some(first)
    );

    // The newest answer an agent gave wins.
    let q = ask(&s, &c.id, "q4", "srv").await;
    let newer = s
        .finish_query(&q.id, reply_at("newer", "abc123", false, None))
        .await
        .unwrap();
    assert_eq!(
        s.reusable_reply("key-1", "abc123").await.unwrap(),
        Some(newer)
    );
}
