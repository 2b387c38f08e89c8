//! Many writers at once, on one handle and on several handles to the same
//! database (as several processes, or machines, share one): nothing lost,
//! nothing stored twice, sequence numbers without gaps.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use claude_comms::store::{BeginQuery, ConversationStatus, Message, Role, Store, StoreError};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::Backend;
use super::helpers::{ask, ask_and_answer, fresh, pair, query, reply, seqs};

/// `count` handles on the database `main`.
fn handles(b: &impl Backend, count: usize) -> Vec<Arc<Store>> {
    (0..count).map(|_| Arc::new(b.open("main"))).collect()
}

/// Every message of a conversation is numbered 1..=n once, its count says
/// n, and each query has exactly one outcome, numbered after it.
async fn assert_well_numbered(store: &Store, conversation: &str) -> Vec<Message> {
    let all = store.messages(conversation, None, None).await.unwrap();
    let n = all.len() as i64;
    assert_eq!(seqs(&all), (1..=n).collect::<Vec<_>>(), "gapless, unique");
    assert_eq!(
        store
            .conversation(conversation)
            .await
            .unwrap()
            .message_count,
        n
    );
    let mut outcomes: BTreeMap<&str, Vec<&Message>> = BTreeMap::new();
    for m in all.iter().filter(|m| m.reply_to.is_some()) {
        outcomes
            .entry(m.reply_to.as_deref().unwrap_or_default())
            .or_default()
            .push(m);
    }
    for q in all.iter().filter(|m| m.role == Role::Query) {
        if let Some(found) = outcomes.get(q.id.as_str()) {
            assert_eq!(found.len(), 1, "one outcome for {}", q.id);
            assert!(found[0].seq > q.seq);
        }
    }
    all
}

pub async fn sequence_numbers_stay_gapless_with_many_writers_on_many_handles(b: &impl Backend) {
    const HANDLES: usize = 3;
    const TASKS: usize = 12;
    const ROUNDS: usize = 8;
    let stores = handles(b, HANDLES);
    let conversations = [pair(&stores[0]).await.id, pair(&stores[1]).await.id];
    let mut tasks = JoinSet::new();
    for t in 0..TASKS {
        let store = stores[t % HANDLES].clone();
        let conversation = conversations[t % 2].clone();
        tasks.spawn(async move {
            for i in 0..ROUNDS {
                let key = format!("t{t}-q{i}");
                let q = fresh(
                    store
                        .begin_query(query(&conversation, &key, Some(&key), "srv"))
                        .await
                        .unwrap(),
                );
                store.finish_query(&q.id, reply(&key)).await.unwrap();
                if i % 4 == 3 {
                    store
                        .add_note(&conversation, "marker", &format!("t{t} note {i}"))
                        .await
                        .unwrap();
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let reader = b.open("main");
    for conversation in &conversations {
        let all = assert_well_numbered(&reader, conversation).await;
        let per_conversation = TASKS / 2 * ROUNDS;
        let keys: BTreeSet<&str> = all
            .iter()
            .filter_map(|m| m.idempotency_key.as_deref())
            .collect();
        assert_eq!(keys.len(), per_conversation, "every query stored once");
        assert_eq!(
            all.len(),
            per_conversation * 2 + TASKS / 2 * (ROUNDS / 4),
            "queries, replies and notes"
        );
    }
}

pub async fn one_idempotency_key_stores_one_query_however_many_race(b: &impl Backend) {
    const RACERS: usize = 12;
    let stores = handles(b, 3);
    let c = pair(&stores[0]).await;
    for round in 0..5 {
        let key = format!("key-{round}");
        let start = Arc::new(Barrier::new(RACERS));
        let mut racers = JoinSet::new();
        for r in 0..RACERS {
            let (store, start) = (stores[r % stores.len()].clone(), start.clone());
            let (c, key) = (c.id.clone(), key.clone());
            racers.spawn(async move {
                start.wait().await;
                store
                    .begin_query(query(&c, &format!("racer {r}"), Some(&key), "srv"))
                    .await
            });
        }
        let mut stored = Vec::new();
        let mut found = Vec::new();
        while let Some(done) = racers.join_next().await {
            match done.unwrap() {
                Ok(BeginQuery::Fresh(q)) => stored.push(q),
                Ok(BeginQuery::Duplicate { query, outcome }) => {
                    assert!(outcome.is_none());
                    found.push(query);
                }
                Err(e) => panic!("a racing duplicate is found, never an error: {e}"),
            }
        }
        assert_eq!(stored.len(), 1, "round {round}: one racer stores the query");
        assert!(
            found.iter().all(|q| q.id == stored[0].id),
            "round {round}: the others find it"
        );
    }
    let all = assert_well_numbered(&stores[1], &c.id).await;
    assert_eq!(all.len(), 5);
}

pub async fn a_query_finished_from_two_handles_at_once_is_closed_once(b: &impl Backend) {
    let stores = handles(b, 2);
    let c = pair(&stores[0]).await;
    for round in 0..10 {
        let q = ask(&stores[0], &c.id, &format!("q{round}"), "srv").await;
        let start = Arc::new(Barrier::new(2));
        let mut finishers = JoinSet::new();
        for (h, store) in stores.iter().enumerate() {
            let (store, start, id) = (store.clone(), start.clone(), q.id.clone());
            finishers.spawn(async move {
                start.wait().await;
                store.finish_query(&id, reply(&format!("from {h}"))).await
            });
        }
        let mut closed = 0;
        while let Some(done) = finishers.join_next().await {
            match done.unwrap() {
                Ok(_) => closed += 1,
                Err(StoreError::NotPending { status, .. }) => assert_eq!(status, "delivered"),
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(closed, 1, "round {round}: closed exactly once");
    }
    let all = assert_well_numbered(&stores[1], &c.id).await;
    assert_eq!(all.len(), 20);
}

pub async fn a_failing_write_undoes_only_itself(b: &impl Backend) {
    let stores = handles(b, 2);
    let open = pair(&stores[0]).await;
    let archived = pair(&stores[0]).await;
    stores[0]
        .set_conversation_status(&archived.id, ConversationStatus::Archived)
        .await
        .unwrap();
    let mut writers = JoinSet::new();
    for i in 0..32 {
        let store = stores[i % 2].clone();
        let target = if i % 4 < 2 { &open.id } else { &archived.id }.clone();
        writers.spawn(async move {
            let q = fresh(
                store
                    .begin_query(query(&target, &format!("q{i}"), None, "srv"))
                    .await?,
            );
            store.finish_query(&q.id, reply(&format!("r{i}"))).await?;
            Ok::<_, StoreError>(i)
        });
    }
    let mut good = 0;
    while let Some(done) = writers.join_next().await {
        match done.unwrap() {
            Ok(i) => {
                assert!(i % 4 < 2, "write {i} to the archived conversation stored");
                good += 1;
            }
            Err(e) => assert!(matches!(e, StoreError::Archived(_)), "{e}"),
        }
    }
    assert_eq!(good, 16);
    let all = assert_well_numbered(&stores[1], &open.id).await;
    assert_eq!(all.len(), 32);
    assert!(
        stores[1]
            .messages(&archived.id, None, None)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_follower_sees_every_message_once_while_many_write(b: &impl Backend) {
    let stores = handles(b, 3);
    let follower = b.open("main");
    let conversations = [pair(&stores[0]).await.id, pair(&stores[1]).await.id];
    let mut cursor = follower.latest_message_cursor().await.unwrap();
    let mut writers = JoinSet::new();
    for t in 0..9 {
        let store = stores[t % 3].clone();
        let conversation = conversations[t % 2].clone();
        writers.spawn(async move {
            for i in 0..4 {
                store
                    .add_note(&conversation, "marker", &format!("t{t} note {i}"))
                    .await
                    .unwrap();
                ask_and_answer(&store, &conversation, &format!("t{t} q{i}")).await;
            }
        });
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen: Vec<String> = Vec::new();
    let mut writers_done = false;
    loop {
        let page = follower.messages_after(cursor, None, 50).await.unwrap();
        for (next, m) in &page {
            assert!(*next > cursor, "cursors only grow");
            cursor = *next;
            seen.push(m.id.clone());
        }
        // Everything is committed once the writers are done: one more
        // read that finds nothing new ends the follow.
        if page.is_empty() && writers_done {
            break;
        }
        if writers.is_empty() {
            writers_done = true;
        } else if let Ok(Some(done)) =
            tokio::time::timeout(std::time::Duration::from_millis(2), writers.join_next()).await
        {
            done.unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "the writers finish");
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no message is followed twice");
    let mut stored = BTreeSet::new();
    for conversation in &conversations {
        let all = assert_well_numbered(&follower, conversation).await;
        stored.extend(all.into_iter().map(|m| m.id));
    }
    assert_eq!(stored.len(), 9 * 4 * 3);
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        stored,
        "the follower saw every message"
    );
}

/// A query cap (a budget's `max_messages_per_hour`) checked with the write:
/// 24 senders on three handles (three nodes of a fleet) race for 5 places
/// in a pair's hour and in a module's; exactly 5 queries are stored, the
/// rest refused naming the cap.
pub async fn a_query_cap_holds_exactly_under_concurrent_senders_on_many_handles(b: &impl Backend) {
    use claude_comms::store::{QueryCap, SpendScope};
    let stores = handles(b, 3);
    let conversation = pair(&stores[0]).await;
    // A window far longer than the test (one that began at 1970) so that
    // no full hour passes in the middle of it.
    let window_ms = 1_000 * 365 * claude_comms::time::DAY_MS;
    let caps = vec![
        QueryCap {
            scope: SpendScope::Pair {
                source: conversation.source.clone(),
                target: conversation.target.clone(),
            },
            window_ms,
            max: 5,
            name: "budgets.pairs.test.max_messages_per_hour".into(),
        },
        QueryCap {
            scope: SpendScope::Target(conversation.target.clone()),
            window_ms,
            max: 7,
            name: "budgets.modules.test.max_messages_per_hour".into(),
        },
    ];
    let start = Arc::new(Barrier::new(24));
    let mut senders = JoinSet::new();
    for i in 0..24 {
        let (store, start, caps) = (stores[i % 3].clone(), start.clone(), caps.clone());
        let id = conversation.id.clone();
        senders.spawn(async move {
            start.wait().await;
            store
                .begin_query_capped(query(&id, &format!("q{i}"), None, "srv"), caps)
                .await
        });
    }
    let (mut stored, mut refused) = (0, 0);
    while let Some(done) = senders.join_next().await {
        match done.unwrap() {
            Ok(BeginQuery::Fresh(_)) => stored += 1,
            Ok(BeginQuery::Duplicate { .. }) => panic!("no key, so never a duplicate"),
            Err(StoreError::OverCap {
                name,
                count,
                max,
                since_ms,
                now_ms,
            }) => {
                assert!(name.contains("budgets.pairs.test"), "{name}");
                assert_eq!((count, max), (5, 5));
                assert_eq!(since_ms, 0, "the window is the one that holds now");
                assert!(now_ms > 0);
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((stored, refused), (5, 19));
    let all = stores[1]
        .messages(&conversation.id, None, None)
        .await
        .unwrap();
    assert_eq!(all.len(), 5, "exactly the cap is stored");
}

/// Writers of many conversations commit independently (no fleet-wide
/// lock): followers on other handles still see every message exactly once,
/// and each conversation's messages in their order.
pub async fn followers_see_many_conversations_once_each_in_order(b: &impl Backend) {
    const CONVERSATIONS: usize = 12;
    let stores = handles(b, 3);
    let followers = [b.open("main"), b.open("main")];
    let mut conversations = Vec::new();
    for i in 0..CONVERSATIONS {
        conversations.push(pair(&stores[i % 3]).await.id);
    }
    let mut cursors = Vec::new();
    for follower in &followers {
        cursors.push(follower.latest_message_cursor().await.unwrap());
    }
    let mut writers = JoinSet::new();
    for (t, conversation) in conversations.iter().enumerate() {
        let store = stores[t % 3].clone();
        let conversation = conversation.clone();
        writers.spawn(async move {
            for i in 0..3 {
                ask_and_answer(&store, &conversation, &format!("c{t} q{i}")).await;
                store
                    .add_note(&conversation, "marker", &format!("c{t} note {i}"))
                    .await
                    .unwrap();
            }
        });
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen: Vec<Vec<Message>> = vec![Vec::new(), Vec::new()];
    let mut writers_done = false;
    loop {
        let mut found_any = false;
        for (f, follower) in followers.iter().enumerate() {
            let page = follower.messages_after(cursors[f], None, 7).await.unwrap();
            for (next, m) in page {
                assert!(next > cursors[f], "cursors only grow");
                cursors[f] = next;
                seen[f].push(m);
                found_any = true;
            }
        }
        if !found_any && writers_done {
            break;
        }
        if writers.is_empty() {
            writers_done = true;
        } else if let Ok(Some(done)) =
            tokio::time::timeout(std::time::Duration::from_millis(1), writers.join_next()).await
        {
            done.unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "the writers finish");
    }
    let mut stored = BTreeSet::new();
    for conversation in &conversations {
        let all = assert_well_numbered(&stores[0], conversation).await;
        stored.extend(all.into_iter().map(|m| m.id));
    }
    assert_eq!(stored.len(), CONVERSATIONS * 3 * 3);
    for messages in &seen {
        let ids: Vec<&String> = messages.iter().map(|m| &m.id).collect();
        let unique: BTreeSet<&String> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "no message is followed twice");
        assert_eq!(
            unique.into_iter().cloned().collect::<BTreeSet<_>>(),
            stored,
            "the follower saw every message"
        );
        for conversation in &conversations {
            let seqs: Vec<i64> = messages
                .iter()
                .filter(|m| &m.conversation_id == conversation)
                .map(|m| m.seq)
                .collect();
            assert_eq!(
                seqs,
                (1..=seqs.len() as i64).collect::<Vec<_>>(),
                "a conversation's messages are followed in their order"
            );
        }
    }
}
