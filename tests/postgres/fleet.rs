//! The fleet end to end (issue 19): several daemons on one machine, each a
//! node with its own home, module folders and node name, all on one real
//! PostgreSQL database. The fake child's answer names the folder it ran
//! in, so every answer says which node gave it. Every test stops every
//! daemon it started (the nodes' guards do, also on failure) and leaves no
//! process behind.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fleet_nodes::{Node, NodeSettings, eventually, json_of, node_in, process_exists, said};
use crate::pg_cluster::{PgCluster, Shutdown};

/// How long a question to the fake child may take end to end, with room
/// for a loaded machine; the fleet's own waits are far shorter.
pub(crate) const ANSWERED_WITHIN: Duration = Duration::from_secs(60);

/// A node's lease in the tests that kill a node: the least allowed, so a
/// dead node's questions end soon.
pub(crate) const SHORT_LEASE_S: u64 = 3;

pub(crate) fn short_lease(retry_read_only: bool) -> NodeSettings {
    NodeSettings {
        lease_s: SHORT_LEASE_S,
        retry_read_only,
        ..NodeSettings::default()
    }
}

/// `fleet status --json` as `node` sees it.
pub(crate) fn fleet_status(node: &Node) -> Value {
    json_of(&node.cli(&["--json", "fleet", "status"]))
}

/// `send --json --from FROM --to TO TEXT` on `node`, answered.
pub(crate) fn ask(node: &Node, from: &str, to: &str, text: &str) -> Value {
    let sent = json_of(&node.cli(&["--json", "send", "--from", from, "--to", to, text]));
    assert_eq!(sent["status"], "delivered", "{sent}");
    sent
}

/// `jobs list --json` on `node`, every job.
pub(crate) fn jobs(node: &Node) -> Vec<Value> {
    let listed = json_of(&node.cli(&["--json", "jobs", "list", "--limit", "500"]));
    listed.as_array().expect("a list of jobs").clone()
}

/// Whether `reply` is the fake child's answer from `node`'s folder of
/// `module`.
pub(crate) fn answered_by(reply: &Value, node: &Node, module: &str) -> bool {
    let from = format!("fake answer from {}:", node.folder(module).display());
    reply.as_str().is_some_and(|r| r.contains(&from))
}

/// The node named `name` holds this many questions (`fleet status`).
pub(crate) fn in_flight(status: &Value, name: &str) -> i64 {
    node_in(status, name)
        .and_then(|n| n["in_flight"].as_i64())
        .unwrap_or(0)
}

/// For each query in the store: its text, and how many replies and error
/// outcomes it has (a question answered twice would show 2).
pub(crate) fn outcomes_per_query(cluster: &PgCluster, database: &str) -> Vec<(String, i64, i64)> {
    let rows = cluster
        .sql(
            database,
            "SELECT q.content,
                    COUNT(r.id) FILTER (WHERE r.role = 'reply'),
                    COUNT(r.id) FILTER (WHERE r.role <> 'reply')
             FROM messages q LEFT JOIN messages r ON r.reply_to = q.id
             WHERE q.role = 'query' GROUP BY q.id, q.content ORDER BY q.content",
        )
        .expect("the store is readable");
    rows.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut fields = line.rsplitn(3, '|');
            let errors = fields.next().unwrap().parse().unwrap();
            let replies = fields.next().unwrap().parse().unwrap();
            (fields.next().unwrap().to_string(), replies, errors)
        })
        .collect()
}

#[test]
fn a_question_to_a_module_on_another_node_is_answered_there_and_seen_from_every_node() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_routed");
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let b = Node::new(&url, "node-b", &["claude_mcp"], &settings);
    let c = Node::new(&url, "node-c", &["arangodb"], &settings);
    for node in [&a, &b, &c] {
        node.start_ok();
    }

    let status = fleet_status(&b);
    for (node, module) in [(&a, "marker"), (&b, "claude_mcp"), (&c, "arangodb")] {
        let listed = node_in(&status, &node.name)
            .unwrap_or_else(|| panic!("{} is not in the fleet: {status}", node.name));
        assert_eq!(listed["alive"], true, "{listed}");
        assert_eq!(listed["modules"], json!([module]), "{listed}");
    }

    // marker's host on A asks arangodb, whose folder only C has.
    let sent = ask(&a, "marker", "arangodb", "where is the schema?");
    assert!(
        answered_by(&sent["reply"], &c, "arangodb"),
        "not C's answer: {sent}\nC's log:\n{}",
        c.log_tail()
    );
    assert!(
        sent["reply"]
            .as_str()
            .unwrap()
            .contains("where is the schema?")
    );

    // B's CLI sees the job, delivered with C's answer.
    let id = sent["message_id"].as_str().unwrap();
    let listed = jobs(&b);
    let job = listed
        .iter()
        .find(|j| j["message_id"] == id)
        .unwrap_or_else(|| panic!("B does not see job {id}: {listed:?}"));
    assert_eq!(job["status"], "delivered", "{job}");
    assert_eq!(job["reply"], sent["reply"], "{job}");
    // ... and which node took it; the answer says so too.
    assert_eq!(job["node"], "node-c", "{job}");
    assert_eq!(sent["node"], "node-c", "{sent}");
    // The instance that answered runs on C, and every node says so (once
    // C's heartbeat has recorded it).
    eventually(
        "B to list an instance on node-c",
        Duration::from_secs(10),
        || {
            let instances = json_of(&b.cli(&["--json", "instances", "list"]));
            instances
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["node"] == "node-c")
                .then_some(())
        },
    );
}

/// Far less than the lease (the default, 15 s) and the request timeout:
/// an error within this bound did not wait for a node.
const NO_WAIT: Duration = Duration::from_secs(5);

#[test]
fn a_module_no_live_node_hosts_is_an_error_at_once_never_a_wait() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_unhosted");
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let c = Node::new(&url, "node-c", &["arangodb"], &settings);
    a.start_ok();
    c.start_ok();
    ask(&a, "marker", "arangodb", "are you there?");
    let stopped = c.stop();
    assert!(stopped.status.success(), "{}", said(&stopped));

    // arangodb was hosted by C, which stopped.
    let started = Instant::now();
    let refused = a.cli(&["send", "--from", "marker", "--to", "arangodb", "anyone?"]);
    let took = started.elapsed();
    assert!(!refused.status.success(), "{}", said(&refused));
    let text = said(&refused);
    assert!(
        text.contains("\"arangodb\"") && text.contains("\"node-c\"") && text.contains("last"),
        "the error does not name the module and where it was last hosted: {text}"
    );
    assert!(took < NO_WAIT, "the refusal took {took:?}: {text}");
    eprintln!("refused in {took:?} (the command's whole run)");

    // claude_mcp was never hosted by any node.
    let started = Instant::now();
    let refused = a.cli(&["send", "--from", "marker", "--to", "claude_mcp", "anyone?"]);
    let took = started.elapsed();
    assert!(!refused.status.success(), "{}", said(&refused));
    let text = said(&refused);
    assert!(
        text.contains("\"claude_mcp\"") && text.contains("no node"),
        "the error does not name the module: {text}"
    );
    assert!(took < NO_WAIT, "the refusal took {took:?}: {text}");

    // Nothing waits for a node: the only job is the one answered before.
    let listed = jobs(&a);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "delivered", "{listed:?}");
}

/// Questions asked at once in the sharing test.
const CONCURRENT: usize = 20;

#[test]
fn two_nodes_hosting_one_module_share_concurrent_questions_each_answered_once() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = "fleet_shared";
    let url = cluster.create_database(database);
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let c = Node::new(&url, "node-c", &["arangodb"], &settings);
    let d = Node::new(&url, "node-d", &["arangodb"], &settings);
    for node in [&a, &c, &d] {
        node.start_ok();
    }

    let tag = |i: usize| format!("<question {i:02}>");
    let running: Vec<_> = (0..CONCURRENT)
        .map(|i| a.spawn_send("marker", "arangodb", &tag(i)))
        .collect();
    let mut by_c = 0;
    let mut by_d = 0;
    for (i, running) in running.into_iter().enumerate() {
        let sent = json_of(&running.finish(ANSWERED_WITHIN));
        assert_eq!(sent["status"], "delivered", "{sent}");
        assert!(sent["reply"].as_str().unwrap().contains(&tag(i)), "{sent}");
        match (
            answered_by(&sent["reply"], &c, "arangodb"),
            answered_by(&sent["reply"], &d, "arangodb"),
        ) {
            (true, false) => by_c += 1,
            (false, true) => by_d += 1,
            _ => panic!("neither C nor D answered: {sent}"),
        }
    }
    eprintln!("of {CONCURRENT} concurrent questions, C answered {by_c} and D {by_d}");
    assert!(
        by_c > 0 && by_d > 0,
        "both nodes should answer some of {CONCURRENT} concurrent questions: C answered {by_c}, D {by_d}"
    );

    // The store holds each question once, with exactly one reply.
    let outcomes = outcomes_per_query(&cluster, database);
    assert_eq!(outcomes.len(), CONCURRENT, "{outcomes:?}");
    for (question, replies, errors) in &outcomes {
        assert_eq!(
            (*replies, *errors),
            (1, 0),
            "{question}: {replies} replies, {errors} errors"
        );
    }
    let listed = jobs(&c);
    assert_eq!(listed.len(), CONCURRENT, "{listed:?}");
    assert!(
        listed.iter().all(|j| j["status"] == "delivered"),
        "{listed:?}"
    );
}

#[test]
fn a_node_killed_mid_question_leaves_it_interrupted_and_its_asker_told() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_killed");
    let a = Node::new(&url, "node-a", &["marker"], &short_lease(false));
    let c = Node::new(&url, "node-c", &["arangodb"], &short_lease(false));
    a.start_ok();
    c.start_ok();

    let asking = a.spawn_cli(&[
        "send",
        "--from",
        "marker",
        "--to",
        "arangodb",
        "[[delay:120000]] a long look",
    ]);
    eventually("node-c to claim the question", ANSWERED_WITHIN, || {
        (in_flight(&fleet_status(&a), "node-c") == 1).then_some(())
    });
    // C's agent is at work on it.
    let workers = eventually("C's child to run", ANSWERED_WITHIN, || {
        let running = c.processes();
        (running.len() > 1).then_some(running)
    });
    let killed_at = Instant::now();
    c.kill();

    let told = asking.finish(Duration::from_secs(SHORT_LEASE_S) + ANSWERED_WITHIN);
    let took = killed_at.elapsed();
    let text = said(&told);
    assert!(!told.status.success(), "{text}");
    assert!(
        text.contains("node-c") && text.contains("lease"),
        "the asker is not told that C's lease ran out: {text}"
    );
    eprintln!("the asker was told {took:?} after node-c was killed (lease {SHORT_LEASE_S} s)");

    let listed = jobs(&a);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "interrupted", "{listed:?}");
    let pending = json_of(&a.cli(&["--json", "jobs", "list", "--status", "pending"]));
    assert_eq!(pending, json!([]), "nothing is pending");
    let status = fleet_status(&a);
    let dead = node_in(&status, "node-c").expect("node-c is listed");
    assert_eq!(dead["alive"], false, "{dead}");
    assert_eq!(dead["in_flight"], 0, "{dead}");

    // The dead node's child does not outlive it.
    eventually("the killed node's child to exit", ANSWERED_WITHIN, || {
        workers.iter().all(|p| !process_exists(*p)).then_some(())
    });
}

#[test]
fn a_read_only_question_of_a_killed_node_is_answered_once_by_another_node() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = "fleet_retried";
    let url = cluster.create_database(database);
    let a = Node::new(&url, "node-a", &["marker"], &short_lease(true));
    let c = Node::new(&url, "node-c", &["arangodb"], &short_lease(true));
    let d = Node::new(&url, "node-d", &["arangodb"], &short_lease(true));
    for node in [&a, &c, &d] {
        node.start_ok();
    }

    // arangodb's policy is the default, read-only. The question is slow
    // enough to be cut, short enough to be answered when asked again.
    let asking = a.spawn_send("marker", "arangodb", "[[delay:4000]] a read-only look");
    let (holder, other) = eventually("a node to claim the question", ANSWERED_WITHIN, || {
        let status = fleet_status(&a);
        match (in_flight(&status, "node-c"), in_flight(&status, "node-d")) {
            (1, 0) => Some((&c, &d)),
            (0, 1) => Some((&d, &c)),
            _ => None,
        }
    });
    holder.kill();

    let answered = asking.finish(Duration::from_secs(SHORT_LEASE_S) + ANSWERED_WITHIN);
    let sent = json_of(&answered);
    assert_eq!(sent["status"], "delivered", "{sent}");
    assert!(
        answered_by(&sent["reply"], other, "arangodb"),
        "not answered by the surviving node {}: {sent}",
        other.name
    );

    // Answered once: one reply, no error, nothing pending.
    let outcomes = outcomes_per_query(&cluster, database);
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!((outcomes[0].1, outcomes[0].2), (1, 0), "{outcomes:?}");
    let listed = jobs(&a);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "delivered", "{listed:?}");
}

/// The sessions of `database` that listen for the fleet's notices (one per
/// node's daemon).
fn listening_sessions(cluster: &PgCluster, database: &str) -> usize {
    cluster
        .sql(
            "postgres",
            &format!(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE datname = '{database}' AND query LIKE 'LISTEN claude_comms%'"
            ),
        )
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn after_a_postgresql_restart_every_node_listens_again_and_questions_are_answered() {
    let Some(mut cluster) = PgCluster::start() else {
        return;
    };
    let database = "fleet_restart";
    let url = cluster.create_database(database);
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let c = Node::new(&url, "node-c", &["arangodb"], &settings);
    a.start_ok();
    c.start_ok();
    let before = ask(&a, "marker", "arangodb", "before the restart");
    assert!(answered_by(&before["reply"], &c, "arangodb"), "{before}");
    eventually("both nodes to listen", ANSWERED_WITHIN, || {
        (listening_sessions(&cluster, database) == 2).then_some(())
    });

    // A question at work on C while the database restarts.
    let asking = a.spawn_send("marker", "arangodb", "[[delay:3000]] across the restart");
    eventually("node-c to claim the question", ANSWERED_WITHIN, || {
        (in_flight(&fleet_status(&a), "node-c") == 1).then_some(())
    });
    cluster.restart(Shutdown::Fast);
    let restarted_at = claude_comms::time::now_ms();

    eventually("both nodes to listen again", ANSWERED_WITHIN, || {
        (listening_sessions(&cluster, database) == 2).then_some(())
    });
    eventually("both nodes to beat again", ANSWERED_WITHIN, || {
        let status = fleet_status(&a);
        ["node-a", "node-c"]
            .iter()
            .all(|name| {
                node_in(&status, name).is_some_and(|n| {
                    n["alive"] == true && n["last_heartbeat"].as_i64() > Some(restarted_at)
                })
            })
            .then_some(())
    });

    let across = json_of(&asking.finish(ANSWERED_WITHIN));
    assert_eq!(across["status"], "delivered", "{across}");
    assert!(answered_by(&across["reply"], &c, "arangodb"), "{across}");
    let after = ask(&a, "marker", "arangodb", "after the restart");
    assert!(answered_by(&after["reply"], &c, "arangodb"), "{after}");

    // Nothing acknowledged is lost.
    let listed = jobs(&a);
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        listed.iter().all(|j| j["status"] == "delivered"),
        "{listed:?}"
    );
}

#[test]
fn a_second_live_node_with_a_taken_name_is_refused_at_start() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_names");
    let settings = NodeSettings::default();
    let first = Node::new(&url, "twin", &["marker"], &settings);
    let second = Node::new(&url, "twin", &["arangodb"], &settings);
    first.start_ok();

    let text = second.start_refused();
    assert!(
        text.contains("\"twin\"") && text.contains("already in the fleet"),
        "the refusal does not name the node: {text}"
    );

    let status = fleet_status(&first);
    let twins: Vec<_> = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["name"] == "twin")
        .collect();
    assert_eq!(twins.len(), 1, "{status}");
    assert_eq!(twins[0]["alive"], true, "{status}");
    assert_eq!(twins[0]["modules"], json!(["marker"]), "{status}");
}

#[test]
fn daemon_stop_on_each_node_leaves_nothing_behind() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_stop");
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let c = Node::new(&url, "node-c", &["arangodb"], &settings);
    let d = Node::new(&url, "node-d", &["arangodb", "claude_mcp"], &settings);
    for node in [&a, &c, &d] {
        node.start_ok();
    }
    // Children at work on the nodes that host the targets.
    ask(&a, "marker", "arangodb", "[[brief]] one");
    ask(&a, "marker", "claude_mcp", "[[brief]] two");
    ask(&d, "arangodb", "marker", "[[brief]] three");

    let mut ran_children = false;
    for node in [&a, &c, &d] {
        let running = node.processes();
        let pid = running[0];
        ran_children |= running.len() > 1;
        let stopped = node.stop();
        assert!(
            stopped.status.success()
                && said(&stopped).contains(&format!("stopped daemon pid {pid}")),
            "{}",
            said(&stopped)
        );
        for process in running {
            assert!(
                !process_exists(process),
                "process {process} of node {} outlived `daemon stop`",
                node.name
            );
        }
        assert_eq!(node.daemon_pid(), None);
    }
    assert!(ran_children, "the nodes ran children");

    // `fleet status` says each node stopped (not lost).
    let status = json_of(&a.cli_without_daemon(&["--json", "fleet", "status"]));
    let states: Vec<_> = ["node-a", "node-c", "node-d"]
        .iter()
        .map(|name| {
            let node = node_in(&status, name).unwrap_or_else(|| panic!("{name}: {status}"));
            (*name, node["alive"].clone(), node["stopped"].clone())
        })
        .collect();
    assert_eq!(
        states,
        [
            ("node-a", json!(false), json!(true)),
            ("node-c", json!(false), json!(true)),
            ("node-d", json!(false), json!(true)),
        ],
        "{status}"
    );
}

/// Descriptors are fleet-wide: a module registered on one node (with its
/// folder there) is known to every node within a second and answered on
/// the node that has its folder; removed there, it is gone everywhere.
#[test]
fn a_module_registered_on_one_node_is_known_everywhere_and_answered_where_its_folder_is() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_descriptors");
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let c = Node::new(&url, "node-c", &["arangodb"], &settings);
    a.start_ok();
    c.start_ok();
    let folder = c.home().join("modules").join("newmod");
    std::fs::create_dir_all(&folder).unwrap();
    let file = c.home().join("newmod.yaml");
    std::fs::write(
        &file,
        format!(
            "name: newmod\nversion: 0.1.0\ndescription: A module only node-c has.\npath: {}\ncapabilities:\n  - name: answer\n    description: Answers.\n",
            folder.display()
        ),
    )
    .unwrap();
    let registered = c.cli(&["modules", "register", file.to_str().unwrap()]);
    assert!(registered.status.success(), "{registered:?}");

    let listed_on = |node: &Node| {
        json_of(&node.cli(&["--json", "modules", "list"]))["modules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "newmod")
    };
    eventually("node-a to know newmod", Duration::from_secs(1), || {
        listed_on(&a).then_some(())
    });
    let sent = ask(&a, "marker", "newmod", "are you there?");
    let from = format!("fake answer from {}:", folder.display());
    assert!(sent["reply"].as_str().unwrap().contains(&from), "{sent}");
    assert_eq!(sent["node"], "node-c", "{sent}");

    let removed = c.cli(&["modules", "remove", "newmod"]);
    assert!(removed.status.success(), "{removed:?}");
    eventually("node-a to forget newmod", Duration::from_secs(1), || {
        (!listed_on(&a)).then_some(())
    });
}

/// Follow-ups of a conversation go to the node that answered its last
/// turn (it may hold the warm session) while that node lives; when it is
/// gone, the other node hosting the module continues from the stored
/// history.
#[test]
fn follow_ups_stay_on_the_node_that_answered_and_move_when_it_is_gone() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_warmth");
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let c = Node::new(&url, "node-c", &["arangodb"], &settings);
    let d = Node::new(&url, "node-d", &["arangodb"], &settings);
    for node in [&a, &c, &d] {
        node.start_ok();
    }
    let first = ask(&a, "marker", "arangodb", "the first question");
    let conversation = first["conversation_id"].as_str().unwrap().to_string();
    let answered = first["node"].as_str().unwrap().to_string();
    let (stays, other) = if answered == "node-c" {
        (&c, &d)
    } else {
        (&d, &c)
    };
    for i in 0..6 {
        let next = json_of(&a.cli(&[
            "--json",
            "send",
            "--conversation",
            &conversation,
            &format!("follow-up {i}"),
        ]));
        assert_eq!(next["node"], answered.as_str(), "turn {i}: {next}");
        assert!(answered_by(&next["reply"], stays, "arangodb"), "{next}");
    }
    assert!(stays.stop().status.success());
    let moved = json_of(&a.cli(&[
        "--json",
        "send",
        "--conversation",
        &conversation,
        "after the move",
    ]));
    assert_eq!(moved["node"], other.name.as_str(), "{moved}");
    let reply = moved["reply"].as_str().unwrap();
    assert!(answered_by(&moved["reply"], other, "arangodb"), "{moved}");
    // The other node continued from the stored history.
    assert!(
        reply.contains("the first question") && reply.contains("follow-up 5"),
        "{reply}"
    );
}

/// A fleet runs one schema version: a node whose schema differs from the
/// live nodes' refuses to join, saying which node runs which version.
#[test]
fn a_node_of_another_schema_version_refuses_to_join_saying_which() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_versions");
    let settings = NodeSettings::default();
    let older = Node::new(&url, "older", &["marker"], &settings);
    let newer = Node::new(&url, "newer", &["arangodb"], &settings);
    older.start_ok();
    // As if `older` ran a binary one schema version behind.
    let ours = claude_comms::store::SCHEMA_VERSION;
    cluster
        .sql(
            "fleet_versions",
            &format!(
                "UPDATE nodes SET schema_version = {} WHERE name = 'older'",
                ours - 1
            ),
        )
        .unwrap();
    let text = newer.start_refused();
    assert!(
        text.contains("\"older\"")
            && text.contains(&format!("schema version {}", ours - 1))
            && text.contains(&format!("writes version {ours}")),
        "{text}"
    );
}
