//! Faults, deterministic pass/fail: the server SIGKILLed at random points
//! while messages flow (nothing acknowledged is lost, nothing is stored
//! twice, interrupted messages are marked), and children that misbehave.

use crate::common;
use crate::serve_process;

use std::collections::{BTreeMap, BTreeSet};

use claude_comms::store::{MessageStatus, Role, Store};
use common::{call, connect, fake_child_toml, home_with, hub_in, ok_value, text_of};
use serde_json::{Value, json};
use serve_process::Server;

/// Messages sent in the kill test, and how many may be in flight at once.
const MESSAGES: usize = 500;
const IN_FLIGHT: usize = 8;

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[test]
fn killing_the_server_mid_stream_loses_and_duplicates_nothing() {
    let home = home_with(&fake_child_toml());
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut returned: BTreeMap<usize, (String, String)> = BTreeMap::new(); // i -> (query id, reply id)
    let mut sent = 0usize;
    let mut conversation: Option<String> = None;
    let mut kills = 0;
    while sent < MESSAGES {
        let mut server = Server::start(home.path());
        server.initialize();
        let id = conversation.get_or_insert_with(|| {
            let c = server.call_tool(
                1,
                "create_conversation",
                json!({"source": "marker", "target": "arangodb"}),
            );
            c["structuredContent"]["id"].as_str().unwrap().to_string()
        });
        // Kill after a random number of answers, with requests still in flight.
        let kill_after = 1 + rng.below(60) as usize;
        let mut answers = 0;
        let mut outstanding: BTreeSet<usize> = BTreeSet::new();
        loop {
            while outstanding.len() < IN_FLIGHT && sent < MESSAGES {
                let delay = rng.below(3);
                server.send(json!({"jsonrpc": "2.0", "id": sent as i64 + 10, "method": "tools/call", "params": {
                    "name": "send_message",
                    "arguments": {"conversation_id": id, "message": format!("[[brief]] [[delay:{delay}]] message {sent}"), "idempotency_key": format!("k{sent}")}}}));
                outstanding.insert(sent);
                sent += 1;
            }
            if outstanding.is_empty() || answers >= kill_after {
                break;
            }
            let frame = server.next();
            let Some(i) = frame["id"].as_i64().map(|n| (n - 10) as usize) else {
                continue;
            };
            outstanding.remove(&i);
            answers += 1;
            let result = &frame["result"];
            assert_ne!(result["isError"], true, "message {i} failed: {frame}");
            let s = &result["structuredContent"];
            returned.insert(
                i,
                (
                    s["message_id"].as_str().unwrap().into(),
                    s["reply_id"].as_str().unwrap().into(),
                ),
            );
        }
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        kills += 1;
    }
    assert!(kills >= 5, "the test killed the server only {kills} times");

    // The next server marks what the killed ones left pending.
    let mut last = Server::start(home.path());
    last.initialize();
    let _ = last.call_tool(1, "list_conversations", json!({}));
    let store = Store::open(&home.path().join("claude-comms.db")).unwrap();
    // The store is async; this test drives processes synchronously.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let messages = runtime
        .block_on(store.messages(conversation.as_ref().unwrap(), None, None))
        .unwrap();
    assert!(last.finish().success());

    let queries: Vec<_> = messages.iter().filter(|m| m.role == Role::Query).collect();
    let mut by_content: BTreeMap<&str, usize> = BTreeMap::new();
    for q in &queries {
        *by_content.entry(q.content.as_str()).or_default() += 1;
    }
    assert!(
        by_content.values().all(|&n| n == 1),
        "a message was stored twice"
    );
    for (i, (query_id, reply_id)) in &returned {
        let query = messages
            .iter()
            .find(|m| &m.id == query_id)
            .unwrap_or_else(|| panic!("acknowledged message {i} is lost"));
        assert_eq!(query.status, MessageStatus::Delivered, "message {i}");
        let reply = messages
            .iter()
            .find(|m| &m.id == reply_id)
            .unwrap_or_else(|| panic!("the reply to message {i} is lost"));
        assert_eq!(reply.reply_to.as_ref(), Some(query_id));
    }
    for q in &queries {
        assert_ne!(
            q.status,
            MessageStatus::Pending,
            "{} was left pending",
            q.content
        );
    }
    let interrupted = queries
        .iter()
        .filter(|q| q.status == MessageStatus::Interrupted)
        .count();
    assert!(interrupted > 0, "some messages were in flight at a kill");
    let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=messages.len() as i64).collect::<Vec<_>>(),
        "no gaps, no repeats"
    );
    eprintln!(
        "{MESSAGES} sent, {} acknowledged, {interrupted} interrupted, {kills} kills",
        returned.len()
    );
}

#[tokio::test]
async fn a_child_that_writes_garbage_or_exits_gives_a_clear_error_and_the_pool_recovers() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let send =
        |message: &str| json!({"source": "marker", "target": "arangodb", "message": message});
    let garbage = call(&client, "send_message", send("[[garbage]]")).await;
    assert_eq!(garbage.is_error, Some(true));
    let text = text_of(&garbage);
    assert!(
        text.contains("died") && text.contains("exit code 4"),
        "{text}"
    );
    assert!(
        text.contains("wrote garbage"),
        "the child's stderr is quoted: {text}"
    );
    let crash = call(&client, "send_message", send("[[crash]]")).await;
    assert!(
        text_of(&crash).contains("exit code 3"),
        "{}",
        text_of(&crash)
    );
    let ok = ok_value(&call(&client, "send_message", send("fine again?")).await);
    assert!(ok["reply"].as_str().unwrap().contains("fine again?"));
    let mut timeout = send("[[hang]]");
    timeout["timeout_s"] = json!(1);
    let hung = call(&client, "send_message", timeout).await;
    assert!(
        text_of(&hung).contains("timed out after 1s"),
        "{}",
        text_of(&hung)
    );
    ok_value(&call(&client, "send_message", send("and again?")).await);
    let statuses: Vec<Value> = hub
        .instances()
        .local()
        .await
        .unwrap()
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
    assert!(
        statuses
            .iter()
            .any(|s| s["restarts"].as_u64().unwrap() >= 1),
        "{statuses:?}"
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}
