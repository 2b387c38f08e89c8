//! What the cases build their data from: queries, outcomes, servers, the
//! clock.

use claude_comms::host::this_hostname;
use claude_comms::store::{
    BeginQuery, Conversation, Message, MessageStatus, NewQuery, Outcome, ReplyModule, Role,
    ServerRecord, Store,
};
use claude_comms::time::now_ms;
use serde_json::json;

/// A query from `marker` (the source of [`pair`]) along a two-hop chain.
pub fn query(conversation: &str, content: &str, key: Option<&str>, owner: &str) -> NewQuery {
    NewQuery {
        conversation_id: conversation.into(),
        sender: "marker".into(),
        content: content.into(),
        idempotency_key: key.map(str::to_string),
        hop_chain: vec!["marker".into(), "arangodb".into()],
        owner: owner.into(),
        template_version: None,
        context_note: None,
    }
}

/// The query a `begin_query` stored (a test step fails on a duplicate).
pub fn fresh(begun: BeginQuery) -> Message {
    match begun {
        BeginQuery::Fresh(m) => m,
        other => panic!("expected a fresh query, got {other:?}"),
    }
}

/// The earlier query and its outcome a `begin_query` found.
pub fn duplicate(begun: BeginQuery) -> (Message, Option<Message>) {
    match begun {
        BeginQuery::Duplicate { query, outcome } => (query, outcome.map(|o| *o)),
        other => panic!("expected a duplicate, got {other:?}"),
    }
}

/// A reply from `arangodb` with a cost, usage and timings.
pub fn reply(text: &str) -> Outcome {
    Outcome::Reply {
        sender: "arangodb".into(),
        content: text.into(),
        instance_id: Some("mcp-1".into()),
        duration_ms: 12,
        usage: Some(json!({"input_tokens": 3})),
        cost_usd: Some(0.5),
        api_duration_ms: Some(9),
        num_turns: Some(1),
        backend_session: None,
        tool_uses: Vec::new(),
        module: ReplyModule::default(),
    }
}

/// A reply costing `cost_usd`.
pub fn reply_costing(text: &str, cost_usd: f64) -> Outcome {
    let mut outcome = reply(text);
    if let Outcome::Reply { cost_usd: cost, .. } = &mut outcome {
        *cost = Some(cost_usd);
    }
    outcome
}

/// A failure (`Failed` or `Cancelled`) for `cause`.
pub fn failure(reason: &str, status: MessageStatus, cause: &str) -> Outcome {
    Outcome::Failed {
        sender: "arangodb".into(),
        reason: reason.into(),
        status,
        instance_id: Some("mcp-2".into()),
        duration_ms: 5,
        cause: cause.into(),
    }
}

/// A new conversation from `marker` to `arangodb`.
pub async fn pair(store: &Store) -> Conversation {
    store
        .create_conversation("marker", "arangodb", None, json!({}))
        .await
        .unwrap()
}

/// Asks `text` in `conversation` and stores the reply `re: text`; the
/// query (now delivered) and the reply.
pub async fn ask_and_answer(store: &Store, conversation: &str, text: &str) -> (Message, Message) {
    let q = fresh(
        store
            .begin_query(query(conversation, text, None, "srv"))
            .await
            .unwrap(),
    );
    let r = store
        .finish_query(&q.id, reply(&format!("re: {text}")))
        .await
        .unwrap();
    (store.message(&q.id).await.unwrap(), r)
}

/// A query left pending (its answer never comes in this test).
pub async fn ask(store: &Store, conversation: &str, text: &str, owner: &str) -> Message {
    fresh(
        store
            .begin_query(query(conversation, text, None, owner))
            .await
            .unwrap(),
    )
}

/// Waits until the clock has passed `ms` (unix ms), so that what is
/// written next is stamped later than `ms`: cases that pin an order by
/// time, or a time window, use it rather than hoping writes land in
/// different milliseconds.
pub async fn clock_past(ms: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while now_ms() <= ms {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock stands still"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// A server of this process on this host (alive while it beats).
pub fn live_server(id: &str) -> ServerRecord {
    ServerRecord {
        id: id.into(),
        pid: std::process::id(),
        hostname: this_hostname(),
        started_at: 1,
        module: None,
    }
}

/// A server on this host whose pid does not exist.
pub fn dead_server(id: &str) -> ServerRecord {
    ServerRecord {
        pid: 0x7fff_fff0,
        ..live_server(id)
    }
}

/// A server on another host: its pid cannot be checked from here, so only
/// its heartbeat tells whether it is alive.
pub fn remote_server(id: &str) -> ServerRecord {
    ServerRecord {
        hostname: format!("not-{}", this_hostname()),
        pid: 1,
        ..live_server(id)
    }
}

/// A stored-looking message for imports with ids of the test's choosing.
pub fn message(id: &str, conversation_id: &str, seq: i64, role: Role, content: &str) -> Message {
    Message {
        id: id.into(),
        conversation_id: conversation_id.into(),
        seq,
        sender: "marker".into(),
        role,
        content: content.into(),
        created_at: 1_700_000_000_000 + seq,
        status: MessageStatus::Delivered,
        instance_id: None,
        duration_ms: None,
        usage: None,
        cost_usd: None,
        template_version: None,
        idempotency_key: None,
        hop_chain: vec!["marker".into()],
        context_note: None,
        error: None,
        reply_to: None,
        owner: None,
        tool_uses: Vec::new(),
        module_commit: None,
        module_dirty: None,
        reused_from: None,
        node: None,
        stale: None,
    }
}

/// A conversation with an id of the test's choosing, for imports.
pub fn conversation(id: &str, message_count: i64) -> Conversation {
    Conversation {
        id: id.into(),
        source: "marker".into(),
        target: "arangodb".into(),
        title: None,
        status: claude_comms::store::ConversationStatus::Active,
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_100,
        backend_session: None,
        metadata: json!({}),
        message_count,
    }
}

/// The ids of `messages`, in order.
pub fn ids(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.id.clone()).collect()
}

/// The sequence numbers of `messages`, in order.
pub fn seqs(messages: &[Message]) -> Vec<i64> {
    messages.iter().map(|m| m.seq).collect()
}
