//! The PostgreSQL store when the database goes away: restarted (fast or
//! immediate) under load, stopped, or never there. Requests fail within
//! the bound with an error naming the database, never hang; the store
//! reconnects by itself; nothing acknowledged is lost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_comms::store::{BeginQuery, NewQuery, Outcome, Store, StoreError};

use crate::pg_cluster::{PgCluster, Shutdown};

/// What the issue allows a request to take when the database is gone.
const BOUND: Duration = Duration::from_secs(10);

fn reply(content: &str) -> Outcome {
    Outcome::Reply {
        sender: "target".into(),
        content: content.into(),
        instance_id: None,
        duration_ms: 1,
        usage: None,
        cost_usd: None,
        api_duration_ms: None,
        num_turns: None,
        backend_session: None,
        tool_uses: Vec::new(),
        module: Default::default(),
    }
}

fn query(conversation_id: &str, content: &str) -> NewQuery {
    NewQuery {
        conversation_id: conversation_id.into(),
        sender: "source".into(),
        content: content.into(),
        idempotency_key: None,
        hop_chain: Vec::new(),
        owner: "test-server".into(),
        template_version: None,
        context_note: None,
    }
}

/// A failure while the database is away must say which database.
fn assert_names_the_database(e: &StoreError) {
    let text = e.to_string();
    assert!(
        text.contains("PostgreSQL database \"faults\"") && text.contains("127.0.0.1"),
        "the error does not name the database: {text}"
    );
}

/// One writer: asks and answers in its own conversation until told to
/// stop; returns every message the store acknowledged, with its seq.
async fn writer(
    store: Arc<Store>,
    conversation: String,
    stop: Arc<tokio::sync::Notify>,
) -> Vec<(String, i64)> {
    let mut acknowledged = Vec::new();
    let stopped = stop.notified();
    tokio::pin!(stopped);
    for turn in 0.. {
        let step = async {
            let started = Instant::now();
            let result = async {
                let BeginQuery::Fresh(q) = store
                    .begin_query(query(&conversation, &format!("question {turn}")))
                    .await?
                else {
                    panic!("no idempotency key, so never a duplicate");
                };
                let pending = (q.id.clone(), q.seq);
                let r = store
                    .finish_query(&q.id, reply(&format!("answer {turn}")))
                    .await;
                Ok::<_, StoreError>((pending, r))
            }
            .await;
            assert!(
                started.elapsed() < BOUND,
                "a store call took {:?}",
                started.elapsed()
            );
            result
        };
        tokio::select! {
            _ = &mut stopped => break,
            result = step => match result {
                Ok((query, Ok(answer))) => {
                    acknowledged.push(query);
                    acknowledged.push((answer.id, answer.seq));
                }
                // The query was acknowledged; its answer was not.
                Ok((query, Err(e))) => {
                    assert_names_the_database(&e);
                    acknowledged.push(query);
                }
                Err(e) => {
                    assert_names_the_database(&e);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
    acknowledged
}

/// Polls `op` until it succeeds (the store reconnected) or the bound passes.
async fn until_it_works<T>(mut op: impl AsyncFnMut() -> Result<T, StoreError>) -> T {
    let deadline = Instant::now() + BOUND * 2;
    loop {
        match op().await {
            Ok(value) => return value,
            Err(e) if Instant::now() < deadline => {
                assert_names_the_database(&e);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the store did not reconnect: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_under_load_loses_nothing_acknowledged_and_the_store_reconnects() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("faults");
    let store = Arc::new(Store::open_postgres(&url).expect("open"));
    let mut conversations = Vec::new();
    for i in 0..4 {
        let c = store
            .create_conversation(
                "source",
                "target",
                Some(&format!("c{i}")),
                serde_json::json!({}),
            )
            .await
            .unwrap();
        conversations.push(c.id);
    }
    let stop = Arc::new(tokio::sync::Notify::new());
    let writers: Vec<_> = conversations
        .iter()
        .map(|c| tokio::spawn(writer(store.clone(), c.clone(), stop.clone())))
        .collect();
    // Let each writer get some work acknowledged, then cut every
    // connection twice: a crash (immediate) and a clean restart (fast).
    let count = |store: Arc<Store>| async move { store.counts().await.map(|c| c.messages) };
    let cluster = Arc::new(std::sync::Mutex::new(cluster));
    for mode in [Shutdown::Immediate, Shutdown::Fast] {
        let before = until_it_works(|| count(store.clone())).await;
        let deadline = Instant::now() + BOUND;
        while until_it_works(|| count(store.clone())).await < before + 20 {
            assert!(Instant::now() < deadline, "the writers made no progress");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.lock().unwrap().restart(mode))
            .await
            .unwrap();
    }
    // After the restarts the writers go on: new work is acknowledged.
    let after = until_it_works(|| count(store.clone())).await;
    let deadline = Instant::now() + BOUND;
    while until_it_works(|| count(store.clone())).await < after + 20 {
        assert!(Instant::now() < deadline, "no writes after the restarts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.notify_waiters();
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(
        acknowledged.len() > 60,
        "too little was written: {}",
        acknowledged.len()
    );
    // Every acknowledged message is there, with the seq it was given; each
    // conversation's seqs are 1..=n without a gap.
    for (id, seq) in &acknowledged {
        let stored = store
            .message(id)
            .await
            .unwrap_or_else(|e| panic!("acknowledged {id} lost: {e}"));
        assert_eq!(stored.seq, *seq, "{id}");
    }
    let mut per_conversation: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for c in &conversations {
        let messages = store.messages(c, None, None).await.unwrap();
        per_conversation.insert(c.clone(), messages.iter().map(|m| m.seq).collect());
    }
    for (c, seqs) in per_conversation {
        let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(seqs, expected, "conversation {c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_fails_requests_within_the_bound_naming_it_and_is_found_again() {
    let Some(mut cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("faults");
    let store = Store::open_postgres(&url).expect("open");
    let c = store
        .create_conversation("source", "target", None, serde_json::json!({}))
        .await
        .unwrap();
    tokio::task::block_in_place(|| cluster.stop(Shutdown::Fast));
    for _ in 0..3 {
        let started = Instant::now();
        let e = store
            .begin_query(query(&c.id, "while the database is down"))
            .await
            .expect_err("the database is stopped");
        assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
        assert_names_the_database(&e);
    }
    tokio::task::block_in_place(|| cluster.start_again());
    let BeginQuery::Fresh(q) =
        until_it_works(|| store.begin_query(query(&c.id, "back again"))).await
    else {
        panic!("fresh");
    };
    // Nothing from the gap was half-stored: the query is the first message.
    assert_eq!(q.seq, 1);
    assert_eq!(store.messages(&c.id, None, None).await.unwrap().len(), 1);
}

#[test]
fn a_url_that_does_not_work_at_start_names_host_port_database_and_cause() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let no_db = Store::open_postgres(&cluster.url("nope"))
        .err()
        .expect("no such database");
    let text = no_db.to_string();
    assert!(
        text.contains("\"nope\"")
            && text.contains(&format!("127.0.0.1:{}", cluster.port()))
            && text.contains("no such database"),
        "{text}"
    );
    let port = cluster.port();
    drop(cluster);
    let started = Instant::now();
    let refused = Store::open_postgres(&format!("postgres://comms:s3cret@127.0.0.1:{port}/cc"))
        .err()
        .expect("nothing listens there");
    let text = refused.to_string();
    assert!(started.elapsed() < BOUND);
    assert!(
        text.contains(&format!("127.0.0.1:{port}"))
            && text.contains("\"cc\"")
            && text.contains("refused"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "the password shows: {text}");
}
