//! A store with something of everything `store copy` must carry (replies
//! with their cost, tokens and folder state, a reused reply, a failure with
//! its cause, a pending query, a note, an archived conversation, access
//! tokens used and revoked), and the check that two stores hold the same,
//! read back through the store's own calls: what `stats`, budgets, reuse,
//! followers, search and token checks see.

#![allow(dead_code)]

use claude_comms::policy::{ToolOutcome, ToolUse};
use claude_comms::store::{
    BeginQuery, ConversationFilter, ConversationStatus, NewQuery, NewToken, Outcome, ReplyModule,
    SpendScope, Store,
};
use claude_comms::workspace::FolderState;
use serde_json::json;

/// The commit the fixture's replies were answered at.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
/// The reuse key of the fixture's first reply.
pub const REUSE_KEY: &str = "reuse-key-of-the-schema-question";

pub fn query(conversation_id: &str, sender: &str, content: &str, key: Option<&str>) -> NewQuery {
    NewQuery {
        conversation_id: conversation_id.into(),
        sender: sender.into(),
        content: content.into(),
        idempotency_key: key.map(str::to_string),
        hop_chain: vec![sender.into()],
        owner: "server-of-the-fixture".into(),
        template_version: Some("default@3".into()),
        context_note: Some("history cut to the last 2 turns".into()),
    }
}

pub async fn begin(store: &Store, q: NewQuery) -> String {
    match store.begin_query(q).await.unwrap() {
        BeginQuery::Fresh(m) => m.id,
        BeginQuery::Duplicate { .. } => panic!("the fixture's queries are new"),
    }
}

fn reply(content: &str, reused_from: Option<String>) -> Outcome {
    Outcome::Reply {
        sender: "arangodb".into(),
        content: content.into(),
        instance_id: Some("instance-1".into()),
        duration_ms: 1234,
        usage: Some(
            json!({"input_tokens": 100, "cache_read_input_tokens": 5, "output_tokens": 20}),
        ),
        cost_usd: Some(0.012_345_678_9),
        api_duration_ms: Some(900),
        num_turns: Some(3),
        backend_session: Some("session-1".into()),
        tool_uses: vec![ToolUse {
            tool: "Read".into(),
            target: Some("schema.md".into()),
            outcome: ToolOutcome::Allowed,
            detail: None,
        }],
        module: ReplyModule {
            state: FolderState {
                commit: Some(COMMIT.into()),
                dirty: Some(false),
            },
            reuse_key: Some(REUSE_KEY.into()),
            reused_from,
        },
    }
}

/// Fills `store` (which must be empty); 2 conversations, 10 messages and
/// 2 access tokens.
pub async fn fill(store: &Store) {
    let asked = store
        .create_conversation(
            "marker",
            "arangodb",
            Some("schema question"),
            json!({"ticket": 7}),
        )
        .await
        .unwrap();
    let q1 = begin(
        store,
        query(
            &asked.id,
            "marker",
            "which collections hold documents?",
            Some("key-1"),
        ),
    )
    .await;
    store
        .set_query_context(&q1, "default@4", Some("the whole history fit"))
        .await
        .unwrap();
    let first = store
        .finish_query(&q1, reply("documents and edges", None))
        .await
        .unwrap();
    let q2 = begin(store, query(&asked.id, "marker", "and again?", None)).await;
    store
        .finish_query(&q2, reply("documents and edges", Some(first.id.clone())))
        .await
        .unwrap();
    let q3 = begin(
        store,
        query(&asked.id, "marker", "drop every collection", None),
    )
    .await;
    store
        .finish_query(
            &q3,
            Outcome::Failed {
                sender: "arangodb".into(),
                // A NUL and the store's escape characters (issue 28):
                // PostgreSQL's text cannot hold U+0000, yet a copy either
                // way keeps them exactly (see `assert_same`).
                reason: "the agent did not answer within 30 s\0 (\u{1})".into(),
                status: claude_comms::store::MessageStatus::Failed,
                instance_id: Some("instance-1".into()),
                duration_ms: 30_000,
                cause: "timeout".into(),
            },
        )
        .await
        .unwrap();
    store
        .add_note(
            &asked.id,
            "operator",
            "a note between the turns: \0 NUL, \u{1}\u{2} escape-like, \u{1}\0",
        )
        .await
        .unwrap();

    let other = store
        .create_conversation("arangodb", "marker", None, json!({}))
        .await
        .unwrap();
    let q4 = begin(
        store,
        query(&other.id, "arangodb", "how is a PDF split?", None),
    )
    .await;
    store
        .finish_query(
            &q4,
            Outcome::Failed {
                sender: "marker".into(),
                reason: "cancelled by the operator".into(),
                status: claude_comms::store::MessageStatus::Cancelled,
                instance_id: None,
                duration_ms: 10,
                cause: "cancelled".into(),
            },
        )
        .await
        .unwrap();
    // Left pending: a copy keeps it pending.
    begin(store, query(&other.id, "arangodb", "still there?", None)).await;
    store
        .set_conversation_status(&other.id, ConversationStatus::Archived)
        .await
        .unwrap();

    for (id, module, admin) in [
        ("tok-marker", Some("marker"), false),
        ("tok-admin", None, true),
    ] {
        store
            .insert_token(&NewToken {
                id: id.into(),
                secret_hash: format!("{id}-{}", "ab".repeat(28)),
                module: module.map(str::to_string),
                admin,
                label: Some(format!("label of {id}")),
                lifetime_ms: admin.then_some(1_000_000_000_000),
            })
            .await
            .unwrap();
    }
    store
        .touch_token("tok-marker", 1_700_000_000_123)
        .await
        .unwrap();
    assert!(store.revoke_token("tok-admin").await.unwrap());
}

/// Adds ask-backs (issue 29) to `store`: a conversation marker asks
/// claude_mcp with 3 questions, 10 messages, 3 questions back (answered,
/// ended, unanswered) and 1 child question. Nothing is left pending.
pub async fn fill_ask_backs(store: &Store) {
    use claude_comms::store::AskBackState;
    let asked = store
        .create_conversation("marker", "claude_mcp", None, json!({}))
        .await
        .unwrap();
    let qa = begin(store, query(&asked.id, "marker", "which port?", None)).await;
    store.ask_back(&qa, "TLS or not?").await.unwrap();
    store.answer_ask_back(&qa, "TLS").await.unwrap();
    let second = store.ask_back(&qa, "which certificate?").await.unwrap();
    let qc = begin(
        store,
        query(&asked.id, "claude_mcp", "asked meanwhile", None),
    )
    .await;
    store.link_child_query(&qc, &qa).await.unwrap();
    store
        .finish_query(&qc, reply("the child's answer", None))
        .await
        .unwrap();
    store
        .close_ask_back(&second.question.id, AskBackState::Ended)
        .await
        .unwrap();
    store
        .finish_query(&qa, reply("8529 over TLS", None))
        .await
        .unwrap();
    let qb = begin(store, query(&asked.id, "marker", "and the host?", None)).await;
    let unanswered = store.ask_back(&qb, "which node?").await.unwrap();
    store
        .close_ask_back(&unanswered.question.id, AskBackState::Unanswered)
        .await
        .unwrap();
    store
        .finish_query(&qb, reply("any node", None))
        .await
        .unwrap();
}

/// Asserts that `copy` holds `original`'s questions back and child
/// questions, read back as `jobs show` and `stats` read them.
async fn assert_same_ask_backs(original: &Store, copy: &Store) {
    use claude_comms::store::Role;
    assert_eq!(
        copy.ask_backs_since(0, None).await.unwrap(),
        original.ask_backs_since(0, None).await.unwrap(),
        "questions back per pair and state"
    );
    let all = ConversationFilter {
        limit: 500,
        ..Default::default()
    };
    for c in original
        .list_conversations(&all)
        .await
        .unwrap()
        .conversations
    {
        for m in original.messages(&c.id, None, None).await.unwrap() {
            if m.role == Role::AskBack {
                assert_eq!(
                    copy.ask_back_of(&m.id).await.unwrap(),
                    original.ask_back_of(&m.id).await.unwrap(),
                    "question back {}",
                    m.id
                );
            }
            if m.role == Role::Query {
                assert_eq!(
                    copy.child_queries(&m.id).await.unwrap(),
                    original.child_queries(&m.id).await.unwrap(),
                    "children of {}",
                    m.id
                );
            }
        }
    }
}

/// Every message with its cursor (the global order followers page by).
async fn in_global_order(
    store: &Store,
) -> Vec<(
    claude_comms::store::MessageCursor,
    claude_comms::store::Message,
)> {
    let mut all = Vec::new();
    loop {
        let after = all
            .last()
            .map_or(claude_comms::store::MessageCursor::START, |(cursor, _)| {
                *cursor
            });
        let page = store.messages_after(after, None, 500).await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// Adds `notes` notes over 3 new conversations (between modules the
/// fixture's checks do not look at) and `big` replies of 1 MiB each: more
/// rows than a batch of the copy holds, and more bytes than it takes.
pub async fn fill_many(store: &Store, notes: usize, big: usize) {
    let mut conversations = Vec::new();
    for i in 0..3 {
        let c = store
            .create_conversation("pdf", "graph", Some(&format!("bulk {i}")), json!({}))
            .await
            .unwrap();
        conversations.push(c.id);
    }
    for n in 0..notes {
        let id = &conversations[n % conversations.len()];
        store
            .add_note(id, "operator", &format!("note number {n}"))
            .await
            .unwrap();
    }
    for n in 0..big {
        let id = &conversations[n % conversations.len()];
        let q = begin(store, query(id, "pdf", &format!("big answer {n}?"), None)).await;
        let text = format!("{n} {}", "x".repeat(1 << 20));
        store
            .finish_query(
                &q,
                Outcome::Reply {
                    sender: "graph".into(),
                    content: text,
                    instance_id: None,
                    duration_ms: 5,
                    usage: None,
                    cost_usd: None,
                    api_duration_ms: None,
                    num_turns: None,
                    backend_session: None,
                    tool_uses: Vec::new(),
                    module: ReplyModule::default(),
                },
            )
            .await
            .unwrap();
    }
}

/// Asserts that `copy` holds what `original` holds, field for field,
/// through every read the product makes of it.
pub async fn assert_same(original: &Store, copy: &Store) {
    assert_eq!(
        copy.counts().await.unwrap(),
        original.counts().await.unwrap()
    );
    let all = ConversationFilter {
        limit: 500,
        ..Default::default()
    };
    let conversations = original.list_conversations(&all).await.unwrap();
    assert_eq!(
        copy.list_conversations(&all).await.unwrap().conversations,
        conversations.conversations,
        "conversations"
    );
    for c in &conversations.conversations {
        assert_eq!(
            copy.messages(&c.id, None, None).await.unwrap(),
            original.messages(&c.id, None, None).await.unwrap(),
            "messages of {}",
            c.id
        );
    }
    // The global order followers read in is kept (the cursors themselves
    // are each backend's own: PostgreSQL's name the writing transaction).
    let messages_only = |all: Vec<(_, claude_comms::store::Message)>| {
        all.into_iter().map(|(_, m)| m).collect::<Vec<_>>()
    };
    assert_eq!(
        messages_only(in_global_order(copy).await),
        messages_only(in_global_order(original).await),
        "messages in global order"
    );
    // The ledger: what `stats` and budgets read.
    assert_eq!(
        copy.outcomes_since(0, None).await.unwrap(),
        original.outcomes_since(0, None).await.unwrap(),
        "outcomes"
    );
    for scope in [
        SpendScope::Pair {
            source: "marker".into(),
            target: "arangodb".into(),
        },
        SpendScope::Target("marker".into()),
    ] {
        assert_eq!(
            copy.spend_since(&scope, 0).await.unwrap(),
            original.spend_since(&scope, 0).await.unwrap(),
            "spend of {scope:?}"
        );
    }
    // Reuse finds the same reply by its key and commit.
    assert_eq!(
        copy.reusable_reply(REUSE_KEY, COMMIT).await.unwrap(),
        original.reusable_reply(REUSE_KEY, COMMIT).await.unwrap(),
        "reusable reply"
    );
    assert_eq!(
        copy.search("documents edges", None, 20).await.unwrap(),
        original.search("documents edges", None, 20).await.unwrap(),
        "search"
    );
    assert_same_ask_backs(original, copy).await;
    let tokens = original.tokens().await.unwrap();
    assert_eq!(copy.tokens().await.unwrap(), tokens, "access tokens");
    for t in &tokens {
        assert_eq!(
            copy.token(&t.id).await.unwrap().map(|c| c.secret_hash),
            Some(t.secret_hash.clone()),
            "the secret's hash of {}",
            t.id
        );
    }
}

/// Asserts that the fixture's values themselves came through (not only
/// that two stores agree): the ledger sums, the failure's cause, the
/// pending query, the reused reply.
pub async fn assert_fixture(store: &Store) {
    let spend = store
        .spend_since(
            &SpendScope::Pair {
                source: "marker".into(),
                target: "arangodb".into(),
            },
            0,
        )
        .await
        .unwrap();
    assert_eq!(spend.messages, 3);
    assert_eq!(spend.cost_usd, 2.0 * 0.012_345_678_9);
    let outcomes = store.outcomes_since(0, Some("marker")).await.unwrap();
    let failures: Vec<Option<&str>> = outcomes.iter().map(|o| o.failure.as_deref()).collect();
    assert!(failures.contains(&Some("timeout")), "{outcomes:?}");
    let replied = outcomes
        .iter()
        .find(|o| o.failure.is_none())
        .expect("a reply's outcome");
    assert_eq!(
        (
            replied.input_tokens,
            replied.output_tokens,
            replied.num_turns
        ),
        (Some(105), Some(20), Some(3))
    );
    assert_eq!(replied.api_duration_ms, Some(900));
    let reused = store
        .reusable_reply(REUSE_KEY, COMMIT)
        .await
        .unwrap()
        .expect("the reply to reuse");
    assert_eq!(reused.module_dirty, Some(false));
    let pending = store
        .recent_queries(Some(claude_comms::store::MessageStatus::Pending), None, 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
}

/// Writes into the store `open` opens, as another process would, from a
/// thread and a handle of its own (so that a synchronous callback may call
/// it): a note in `conversation`, and a new conversation with a note.
pub fn write_from_elsewhere(open: impl FnOnce() -> Store + Send + 'static, conversation: String) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let store = open();
            store
                .add_note(&conversation, "elsewhere", "written during the copy")
                .await
                .unwrap();
            let new = store
                .create_conversation("elsewhere", "marker", None, json!({}))
                .await
                .unwrap();
            store
                .add_note(
                    &new.id,
                    "elsewhere",
                    "in a conversation begun during the copy",
                )
                .await
                .unwrap();
        });
    })
    .join()
    .unwrap();
}
