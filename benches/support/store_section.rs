//! The store at scale: a million messages through the store interface
//! (`cargo bench -- store`), and the seeding the footprint section shares.
//! Included by bench.rs.

use super::*;

use claude_comms::store::{
    Conversation, ConversationFilter, ConversationStatus, ExportedConversation, Message,
    MessageStatus, NewQuery, Outcome,
};

/// one transaction per conversation.
pub(super) async fn seed(store: &Store, conversations: usize, messages: usize, rng: &mut Rng) {
    let modules = ["marker", "arangodb", "claude_mcp", "indexer", "summarizer"];
    for c in 0..conversations {
        let id = uuid::Uuid::new_v4().to_string();
        let (source, target) = (modules[c % 5], modules[(c + 1) % 5]);
        let now = 1_700_000_000_000 + c as i64;
        let conversation = Conversation {
            id: id.clone(),
            source: source.into(),
            target: target.into(),
            title: Some(sentence(rng, 5)),
            status: ConversationStatus::Active,
            created_at: now,
            updated_at: now,
            backend_session: None,
            metadata: json!({}),
            message_count: messages as i64,
        };
        let messages: Vec<Message> = (0..messages)
            .map(|m| Message {
                id: uuid::Uuid::new_v4().to_string(),
                conversation_id: id.clone(),
                seq: m as i64 + 1,
                sender: if m % 2 == 0 {
                    source.into()
                } else {
                    target.into()
                },
                role: if m % 2 == 0 { Role::Query } else { Role::Reply },
                content: {
                    let words = 20 + rng.below(40) as usize;
                    sentence(rng, words)
                },
                created_at: now,
                status: MessageStatus::Delivered,
                instance_id: None,
                duration_ms: None,
                usage: None,
                cost_usd: None,
                template_version: None,
                idempotency_key: None,
                hop_chain: vec![],
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
            })
            .collect();
        store
            .import(ExportedConversation {
                conversation,
                messages,
            })
            .await
            .unwrap();
    }
}

/// What a backend is held to at a million messages.
struct Targets {
    append_p99: Duration,
    search_p95: Duration,
    list_p95: Duration,
}

/// Through the store interface, as the hub calls it: SQLite (on the
/// blocking pool), then PostgreSQL beside it on a throw-away cluster when
/// the machine has PostgreSQL's server binaries.
pub(super) async fn store_section() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("scale.db")).unwrap();
    let sqlite = Targets {
        append_p99: Duration::from_millis(2),
        search_p95: Duration::from_millis(20),
        list_p95: Duration::from_millis(5),
    };
    store_figures(&store, "sqlite", &sqlite).await;
    drop(store);
    let Some(cluster) = crate::pg_cluster::PgCluster::start() else {
        println!("| store (postgresql) | skipped: PostgreSQL's server binaries are missing | | |");
        return;
    };
    let url = cluster.create_database("scale");
    let store = Store::open_postgres(&url).unwrap();
    let postgres = Targets {
        append_p99: Duration::from_millis(5),
        search_p95: Duration::from_millis(50),
        list_p95: Duration::from_millis(10),
    };
    store_figures(&store, "postgresql", &postgres).await;
}

async fn store_figures(store: &Store, backend: &str, targets: &Targets) {
    let mut rng = Rng(42);
    let start = Instant::now();
    seed(store, 1000, 1000, &mut rng).await;
    figure(
        &format!("store ({backend}): seeding 1,000,000 messages (import, 1,000 transactions)"),
        format!("{:.1} s", start.elapsed().as_secs_f64()),
        "-",
        None,
    );

    let page = store
        .list_conversations(&ConversationFilter {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<String> = page.conversations.iter().map(|c| c.id.clone()).collect();
    let mut append = Vec::new();
    for i in 0..500 {
        let id = &ids[i % ids.len()];
        let t = Instant::now();
        let q = match store
            .begin_query(NewQuery {
                conversation_id: id.clone(),
                sender: "marker".into(),
                content: sentence(&mut rng, 30),
                idempotency_key: None,
                hop_chain: vec![],
                owner: "bench".into(),
                template_version: Some("follow_up@1".into()),
                context_note: None,
            })
            .await
            .unwrap()
        {
            claude_comms::store::BeginQuery::Fresh(q) => q,
            _ => unreachable!(),
        };
        append.push(t.elapsed());
        let t = Instant::now();
        store
            .finish_query(
                &q.id,
                Outcome::Reply {
                    sender: "arangodb".into(),
                    content: sentence(&mut rng, 30),
                    instance_id: None,
                    duration_ms: 1,
                    usage: None,
                    cost_usd: None,
                    api_duration_ms: None,
                    num_turns: None,
                    backend_session: None,
                    tool_uses: Vec::new(),
                    module: Default::default(),
                },
            )
            .await
            .unwrap();
        append.push(t.elapsed());
    }
    let a = stats(append);
    figure(
        &format!("store ({backend}): append a message at 1M (median / p99)"),
        format!("{} / {}", ms(a.median), ms(a.p99)),
        &format!("p99 <= {}", ms(targets.append_p99)),
        Some(a.p99 <= targets.append_p99),
    );

    let mut search = Vec::new();
    for _ in 0..200 {
        let q = format!(
            "{} {}",
            WORDS[rng.below(WORDS.len() as u64) as usize],
            WORDS[rng.below(WORDS.len() as u64) as usize]
        );
        let t = Instant::now();
        store.search(&q, None, 20).await.unwrap();
        search.push(t.elapsed());
    }
    let s = stats(search);
    figure(
        &format!("store ({backend}): search_conversations at 1M (median / p95)"),
        format!("{} / {}", ms(s.median), ms(s.p95)),
        &format!("p95 <= {}", ms(targets.search_p95)),
        Some(s.p95 <= targets.search_p95),
    );

    let modules = ["marker", "arangodb", "claude_mcp", "indexer", "summarizer"];
    let mut list = Vec::new();
    for i in 0..200 {
        let filter = ConversationFilter {
            module: (i % 2 == 0).then(|| modules[i % 5].to_string()),
            limit: 50,
            ..Default::default()
        };
        let t = Instant::now();
        store.list_conversations(&filter).await.unwrap();
        list.push(t.elapsed());
    }
    let l = stats(list);
    figure(
        &format!("store ({backend}): list_conversations at 1M (median / p95)"),
        format!("{} / {}", ms(l.median), ms(l.p95)),
        &format!("p95 <= {}", ms(targets.list_p95)),
        Some(l.p95 <= targets.list_p95),
    );
}
