//! The fleet as teams run it (issue 27): nodes whose clocks are off, a
//! node killed with a burst of questions in flight, nodes configured with
//! different backends. Real daemons on a real PostgreSQL; a node's clock
//! is shifted with Debian's `faketime`.

use serde_json::Value;

use crate::fleet::{ANSWERED_WITHIN, SHORT_LEASE_S, answered_by, fleet_status, jobs};
use crate::fleet_nodes::{Node, NodeSettings, eventually, json_of, node_in, said};
use crate::pg_cluster::PgCluster;

fn settings(slots: Option<usize>) -> NodeSettings {
    NodeSettings {
        lease_s: SHORT_LEASE_S,
        slots,
        ..NodeSettings::default()
    }
}

/// `send --json` from `node`, which must be answered; the answer.
fn answered(node: &Node, from: &str, to: &str, text: &str) -> Value {
    let sent = node.cli(&["--json", "send", "--from", from, "--to", to, text]);
    let sent = json_of(&sent);
    assert_eq!(sent["status"], "delivered", "{sent}");
    sent
}

/// Each node's view: every node of `names` is live.
fn all_live(node: &Node, names: &[&str]) -> bool {
    let status = fleet_status(node);
    names
        .iter()
        .all(|name| node_in(&status, name).is_some_and(|n| n["alive"] == true))
}

/// Nodes whose wall clocks are a minute ahead and a minute behind work as
/// if every clock agreed: each sees the others live, questions both ways
/// are answered, and an answer that takes longer than the lease (renewed
/// by the database's clock) is not interrupted.
#[test]
fn nodes_whose_clocks_are_a_minute_off_either_way_change_nothing() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_clocks");
    let a = Node::new(&url, "node-a", &["marker"], &settings(None));
    let ahead = Node::new(&url, "node-ahead", &["arangodb"], &settings(None));
    let behind = Node::new(&url, "node-behind", &["claude_mcp"], &settings(None));
    a.start_ok();
    ahead.start_with_clock("+60s");
    behind.start_with_clock("-60s");
    let names = ["node-a", "node-ahead", "node-behind"];
    for node in [&a, &ahead, &behind] {
        eventually(
            &format!("node {} to see every node live", node.name),
            ANSWERED_WITHIN,
            || all_live(node, &names).then_some(()),
        );
    }
    // The clocks really are off: each node stamps its start with its own.
    let status = fleet_status(&a);
    let started = |name: &str| node_in(&status, name).and_then(|n| n["started_at"].as_i64());
    let (on_time, early, late) = (
        started("node-a").expect("node-a listed"),
        started("node-ahead").expect("node-ahead listed"),
        started("node-behind").expect("node-behind listed"),
    );
    assert!(early - on_time > 30_000, "node-ahead's clock is not ahead");
    assert!(on_time - late > 30_000, "node-behind's clock is not behind");
    // Longer than the lease: only renewals by the database's clock keep
    // it; a node comparing its own clock with the others' would end it.
    let slow = format!("[[delay:{}]] a slow look", (SHORT_LEASE_S + 2) * 1000);
    let to_ahead = answered(&a, "marker", "arangodb", &slow);
    assert!(
        answered_by(&to_ahead["reply"], &ahead, "arangodb"),
        "{to_ahead}"
    );
    let to_behind = answered(&a, "marker", "claude_mcp", &slow);
    assert!(
        answered_by(&to_behind["reply"], &behind, "claude_mcp"),
        "{to_behind}"
    );
    // The skewed nodes ask each other and the node with the right time.
    let from_ahead = answered(&ahead, "arangodb", "claude_mcp", "[[brief]] and you?");
    assert_eq!(from_ahead["node"], "node-behind", "{from_ahead}");
    let from_behind = answered(&behind, "claude_mcp", "arangodb", "[[brief]] and you?");
    assert_eq!(from_behind["node"], "node-ahead", "{from_behind}");
    let from_behind_to_a = answered(&behind, "claude_mcp", "marker", "[[brief]] hello");
    assert_eq!(from_behind_to_a["node"], "node-a", "{from_behind_to_a}");
    for node in [&a, &ahead, &behind] {
        for job in jobs(node) {
            assert_eq!(job["status"], "delivered", "on {}: {job}", node.name);
        }
    }
}

/// A message budget counts one hour for the whole fleet, the one the
/// database's clock is in: nodes whose clocks are hours off either way
/// are refused at the same cap as the node with the right time (a node
/// that placed the hour by its own clock would count an empty hour).
#[test]
fn a_budget_counts_the_same_hour_on_nodes_whose_clocks_are_hours_off() {
    const CAP: usize = 2;
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_budget_clocks");
    let settings = NodeSettings {
        extra_toml: format!("[budgets.modules.arangodb]\nmax_messages_per_hour = {CAP}\n"),
        ..settings(None)
    };
    let a = Node::new(&url, "node-a", &["arangodb"], &settings);
    let ahead = Node::new(&url, "node-ahead", &["arangodb"], &settings);
    let behind = Node::new(&url, "node-behind", &["arangodb"], &settings);
    a.start_ok();
    ahead.start_with_clock("+10800s");
    behind.start_with_clock("-10800s");
    for i in 0..CAP {
        answered(&a, "marker", "arangodb", &format!("[[brief]] question {i}"));
    }
    for node in [&ahead, &behind, &a] {
        let refused = node.cli(&["send", "--from", "marker", "--to", "arangodb", "one more"]);
        let text = said(&refused);
        assert!(!refused.status.success(), "on {}: {text}", node.name);
        assert!(
            text.contains("budgets.modules.arangodb.max_messages_per_hour is used up: 2 of 2"),
            "on {}, the refusal names the budget and its count: {text}",
            node.name
        );
    }
    let queries = cluster
        .sql(
            "fleet_budget_clocks",
            "SELECT COUNT(*) FROM messages WHERE role = 'query'",
        )
        .expect("the store is readable");
    assert_eq!(
        queries.trim(),
        CAP.to_string(),
        "nothing over the cap was stored"
    );
}

/// A node dies while its own agent answers its own asker's question (not
/// routed, so no lease covers it): the nodes still running end it
/// `interrupted` within a few heartbeats, though no process starts after
/// it (before, only a starting process looked for a dead one's work).
#[test]
fn a_dead_nodes_own_question_ends_interrupted_while_the_others_run() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = "fleet_dead_owner";
    let url = cluster.create_database(database);
    let a = Node::new(&url, "node-a", &["marker"], &settings(None));
    let b = Node::new(&url, "node-b", &["arangodb"], &settings(None));
    a.start_ok();
    b.start_ok();
    let query_status = || {
        cluster
            .sql(database, "SELECT status FROM messages WHERE role = 'query'")
            .expect("the store is readable")
            .trim()
            .to_string()
    };
    let _asking = b.spawn_send("marker", "arangodb", "[[delay:300000]] a long look");
    eventually("node-b's question to be stored", ANSWERED_WITHIN, || {
        (query_status() == "pending").then_some(())
    });
    b.kill();
    eventually(
        "the dead node's question to end interrupted",
        ANSWERED_WITHIN,
        || (query_status() == "interrupted").then_some(()),
    );
    let error = cluster
        .sql(database, "SELECT error FROM messages WHERE role = 'query'")
        .expect("the store is readable");
    assert!(
        error.contains("stopped before an answer came back"),
        "{error}"
    );
    // Node-a, which ended it, still answers.
    let job = jobs(&a);
    assert_eq!(job.len(), 1, "{job:?}");
    assert_eq!(job[0]["status"], "interrupted", "{job:?}");
}

/// Ages over stored times start from the database's clock: on a node
/// whose clock runs 40 days ahead, `conversations prune --older-than 30d`
/// removes nothing of today's, and `stats --since 1h` counts today's
/// questions (by its own clock both would be wrong).
#[test]
fn a_node_whose_clock_runs_days_ahead_prunes_and_counts_by_the_databases_clock() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    const AHEAD: &str = "+3456000s";
    let url = cluster.create_database("fleet_ages");
    let a = Node::new(&url, "node-a", &["arangodb"], &settings(None));
    let ahead = Node::new(&url, "node-ahead", &["marker"], &settings(None));
    a.start_ok();
    ahead.start_with_clock(AHEAD);
    // The node's clock really is off: it stamped its start with it.
    let status = fleet_status(&a);
    let started = |name: &str| node_in(&status, name).and_then(|n| n["started_at"].as_i64());
    let skew = started("node-ahead").expect("listed") - started("node-a").expect("listed");
    assert!(
        skew > 39 * 86_400_000,
        "node-ahead's clock is not 40 days ahead"
    );
    answered(&a, "marker", "arangodb", "[[brief]] today's question");
    let stats = json_of(&ahead.cli_with_clock(AHEAD, &["--json", "stats", "--since", "1h"]));
    let pairs = stats["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 1, "{stats}");
    assert_eq!(pairs[0]["count"], 1, "{stats}");
    let pruned = ahead.cli_with_clock(
        AHEAD,
        &["conversations", "prune", "--older-than", "30d", "--yes"],
    );
    assert!(pruned.status.success(), "{}", said(&pruned));
    assert!(
        said(&pruned).contains("no conversation"),
        "{}",
        said(&pruned)
    );
    let left = cluster
        .sql("fleet_ages", "SELECT COUNT(*) FROM conversations")
        .expect("the store is readable");
    assert_eq!(left.trim(), "1", "today's conversation is kept");
}

/// A node dies with a burst in flight: it held only what it was running
/// (its slots), so only that is lost; every other question is answered
/// exactly once, by the other node, and nothing stays pending.
#[test]
fn a_killed_node_takes_down_only_what_it_was_running() {
    const QUESTIONS: usize = 20;
    const SLOTS: usize = 2;
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = "fleet_burst";
    let url = cluster.create_database(database);
    let a = Node::new(&url, "node-a", &["marker"], &settings(None));
    let c = Node::new(&url, "node-c", &["arangodb"], &settings(Some(SLOTS)));
    let d = Node::new(&url, "node-d", &["arangodb"], &settings(Some(SLOTS)));
    for node in [&a, &c, &d] {
        node.start_ok();
    }
    let mut ids = Vec::new();
    for i in 0..QUESTIONS {
        let sent = json_of(&a.cli(&[
            "--json",
            "send",
            "--background",
            "--from",
            "marker",
            "--to",
            "arangodb",
            &format!("[[delay:1500]] question {i}"),
        ]));
        assert_eq!(sent["status"], "pending", "{sent}");
        ids.push(sent["message_id"].as_str().unwrap_or_default().to_string());
    }
    // C runs its slots full; it holds no more than that.
    eventually("node-c to run its slots full", ANSWERED_WITHIN, || {
        let status = fleet_status(&a);
        let held = node_in(&status, "node-c")?["in_flight"].as_i64()?;
        assert!(held <= SLOTS as i64, "node-c holds {held} questions");
        (held == SLOTS as i64).then_some(())
    });
    c.kill();
    let listed = eventually("every question to end", ANSWERED_WITHIN * 2, || {
        let listed = jobs(&a);
        (listed.len() == QUESTIONS && listed.iter().all(|j| j["status"] != "pending"))
            .then_some(listed)
    });
    let interrupted = listed
        .iter()
        .filter(|j| j["status"] == "interrupted")
        .count();
    let delivered = listed.iter().filter(|j| j["status"] == "delivered").count();
    eprintln!(
        "node-c killed with {SLOTS} slots: {interrupted} of {QUESTIONS} interrupted, {delivered} delivered"
    );
    assert!(
        interrupted <= SLOTS,
        "the killed node took down {interrupted} questions, more than the {SLOTS} it ran: {listed:?}"
    );
    assert_eq!(interrupted + delivered, QUESTIONS, "{listed:?}");
    for (text, replies, errors) in crate::fleet::outcomes_per_query(&cluster, database) {
        assert!(
            replies + errors <= 1,
            "{text} has {replies} replies and {errors} errors"
        );
    }
    assert!(
        !ids.iter().any(String::is_empty),
        "every send gave a message id"
    );
}

/// Two nodes configured with different backends: the asker's conversation
/// was started with its own (claude-stream, which the answering node
/// cannot run: its `claude` does not exist), and the answering node runs
/// its own (claude-code-mcp) instead of failing, and says so.
#[test]
fn each_node_answers_with_its_own_backend() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_backends");
    let missing_claude = "/nonexistent/claude";
    let a = Node::new(
        &url,
        "node-a",
        &["marker"],
        &NodeSettings {
            extra_toml: format!(
                "[instances]\nbackend = \"claude-stream\"\n[instances.claude_stream]\ncommand = {missing_claude:?}\n"
            ),
            ..NodeSettings::default()
        },
    );
    let b = Node::new(
        &url,
        "node-b",
        &["arangodb"],
        &NodeSettings {
            extra_toml: format!(
                "[instances]\nbackend = \"claude-code-mcp\"\n[instances.claude_stream]\ncommand = {missing_claude:?}\n"
            ),
            ..NodeSettings::default()
        },
    );
    a.start_ok();
    b.start_ok();
    // The conversation is made on A, with A's backend.
    let sent = a.cli(&[
        "--json",
        "send",
        "--from",
        "marker",
        "--to",
        "arangodb",
        "which backend answers?",
    ]);
    let text = said(&sent);
    let sent = json_of(&sent);
    assert_eq!(sent["status"], "delivered", "{text}");
    assert_eq!(sent["node"], "node-b", "{sent}");
    assert!(answered_by(&sent["reply"], &b, "arangodb"), "{sent}");
    let note = sent["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("node-b")
            && note.contains("claude-code-mcp")
            && note.contains("claude-stream"),
        "the answer does not say that node-b used its own backend: {sent}"
    );
    assert!(
        !text.contains(missing_claude),
        "node-b tried the asker's backend: {text}"
    );
}

/// `listen` on one node follows a module while two other nodes ask it
/// concurrently (no fleet-wide lock: the writes commit in any order): it
/// prints every question and answer exactly once, each conversation's in
/// its order.
#[test]
fn listen_sees_every_message_of_concurrent_writers_on_many_nodes_once() {
    const EACH: usize = 8;
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_listen");
    let a = Node::new(&url, "node-a", &["marker"], &settings(None));
    let b = Node::new(&url, "node-b", &["marker"], &settings(None));
    let c = Node::new(&url, "node-c", &["arangodb"], &settings(None));
    for node in [&a, &b, &c] {
        node.start_ok();
    }
    let watcher = Node::new(&url, "node-w", &[], &settings(None));
    let mut listening = watcher.follow_cli(&["--json", "listen", "arangodb"]);
    let printed = |lines: &[String]| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    };
    // Listening for sure once it prints an exchange asked after it started.
    let first = answered(&a, "marker", "arangodb", "[[brief]] are you listening?");
    let first_reply = first["reply_id"].as_str().unwrap_or_default().to_string();
    listening.wait_until("listen to print an answer", ANSWERED_WITHIN, |lines| {
        printed(lines)
            .iter()
            .any(|m| m["id"] == first_reply.as_str())
    });
    // Each send makes a conversation of its own: writers of many
    // conversations at once, from two nodes.
    let mut running = Vec::new();
    for i in 0..EACH {
        running.push(a.spawn_send("marker", "arangodb", &format!("[[brief]] from a {i}")));
        running.push(b.spawn_send("marker", "arangodb", &format!("[[brief]] from b {i}")));
    }
    let mut burst = Vec::new();
    for sent in running {
        let out = sent.finish(ANSWERED_WITHIN);
        assert!(out.status.success(), "{}", said(&out));
        let outcome: Value = serde_json::from_slice(&out.stdout).expect("send --json");
        burst.push((
            outcome["conversation_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            outcome["message_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            outcome["reply_id"].as_str().unwrap_or_default().to_string(),
        ));
    }
    let last_reply = burst.iter().map(|(_, _, r)| r.clone()).collect::<Vec<_>>();
    listening.wait_until("every answer of the burst", ANSWERED_WITHIN, |lines| {
        let seen = printed(lines);
        last_reply
            .iter()
            .all(|r| seen.iter().any(|m| m["id"] == r.as_str()))
    });
    let seen = printed(&listening.seen);
    let mut ids: Vec<&str> = seen.iter().filter_map(|m| m["id"].as_str()).collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "a message was printed twice: {seen:?}");
    for (conversation, query, reply) in &burst {
        let in_it: Vec<&Value> = seen
            .iter()
            .filter(|m| m["conversation_id"] == conversation.as_str())
            .collect();
        let order: Vec<&str> = in_it.iter().filter_map(|m| m["id"].as_str()).collect();
        assert_eq!(
            order,
            vec![query.as_str(), reply.as_str()],
            "conversation {conversation}: its question, then its answer, once each"
        );
    }
}
