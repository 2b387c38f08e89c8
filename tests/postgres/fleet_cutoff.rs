//! A node cut off from the database mid-question (issue 19), without
//! root networking tricks: the node logs in as a database role of its own,
//! and the cut is that role losing its login (`ALTER ROLE ... NOLOGIN`)
//! with its sessions ended (`pg_terminate_backend`); the node comes back
//! when the login does. Meanwhile its lease runs out: the question is
//! taken over by another node (read-only, with `retry_read_only`) or
//! ends `interrupted`; either way the cut-off node's late answer, given
//! after it is back, is refused by the store and nothing is answered twice.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fleet::{
    ANSWERED_WITHIN, SHORT_LEASE_S, answered_by, ask, fleet_status, in_flight, jobs,
    outcomes_per_query, short_lease,
};
use crate::fleet_nodes::{Node, eventually, json_of, node_in, said};
use crate::pg_cluster::{PgCluster, USER};

/// The slow question's delay at the fake child. It must outlast the cut
/// and the lease that runs out after it, so that the cut-off node's agent
/// answers only once the node is back (checked, not assumed).
const SLOW_QUESTION_MS: u64 = 20_000;

/// A node's own login on the test cluster: a role that is a member of the
/// owner of every table (the cluster's superuser), so that it needs no
/// grants of its own, and whose login can be taken away and given back.
struct OwnRole<'a> {
    cluster: &'a PgCluster,
    name: String,
    database: String,
}

impl<'a> OwnRole<'a> {
    fn create(cluster: &'a PgCluster, database: &str, name: &str) -> OwnRole<'a> {
        cluster
            .sql(
                "postgres",
                &format!("CREATE ROLE {name} LOGIN; GRANT {USER} TO {name}"),
            )
            .unwrap_or_else(|e| panic!("role {name} not created: {e}"));
        OwnRole {
            cluster,
            name: name.to_string(),
            database: database.to_string(),
        }
    }

    /// The store URL that logs in as this role.
    fn url(&self) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/{}",
            self.name,
            self.cluster.port(),
            self.database
        )
    }

    /// Takes the login away and ends every session of the role; returns
    /// once none is left (a session that was authenticating when the
    /// login went is ended too).
    fn cut_off(&self) {
        self.superuser(&format!("ALTER ROLE {} NOLOGIN", self.name));
        eventually(
            &format!("every session of {} to end", self.name),
            Duration::from_secs(20),
            || {
                let ended = self.superuser(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{}'",
                    self.name
                ));
                ended.trim().is_empty().then_some(())
            },
        );
    }

    /// Gives the login back.
    fn let_back(&self) {
        self.superuser(&format!("ALTER ROLE {} LOGIN", self.name));
    }

    fn superuser(&self, statement: &str) -> String {
        self.cluster
            .sql("postgres", statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}\n{}", self.cluster.log_tail()))
    }
}

/// What a node logs when the outcome of a question it claimed could not
/// be stored (src/hub/fleet/answer.rs).
const LATE_ANSWER_LOGGED: &str = "a claimed question ended without an answer";

/// The node's whole daemon log.
fn log_of(node: &Node) -> String {
    std::fs::read_to_string(node.home().join("daemon.log")).unwrap_or_default()
}

/// `check`'s first value within `within`, or `None`.
fn poll_until<T>(within: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `node` is listed alive in `fleet status` and was heard from after
/// `since_ms`.
fn alive_since(status: &Value, node: &str, since_ms: i64) -> bool {
    node_in(status, node)
        .is_some_and(|n| n["alive"] == true && n["last_heartbeat"].as_i64() > Some(since_ms))
}

#[test]
fn a_cut_off_node_loses_its_read_only_question_to_another_and_its_late_answer_is_refused() {
    cut_off_mid_question(true);
}

#[test]
fn a_cut_off_node_s_question_ends_interrupted_without_retry_and_its_late_answer_is_refused() {
    cut_off_mid_question(false);
}

/// Node A (marker) asks arangodb, hosted by C (its own role) and D. C
/// holds the slow question when it is cut off; after C comes back its
/// agent's late answer is refused. With `retry_read_only` D answers the
/// question (once), without it the question ends `interrupted`.
fn cut_off_mid_question(retry_read_only: bool) {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = if retry_read_only {
        "fleet_cutoff_retried"
    } else {
        "fleet_cutoff_interrupted"
    };
    let url = cluster.create_database(database);
    let settings = short_lease(retry_read_only);
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    // A's daemon creates the tables (as their owner) before C logs in.
    a.start_ok();
    let role = OwnRole::create(&cluster, database, "node_c_login");
    let c = Node::new(&role.url(), "node-c", &["arangodb"], &settings);
    let d = Node::new(&url, "node-d", &["arangodb"], &settings);
    c.start_ok();

    // arangodb's policy is the default, read-only. Only C runs yet: it
    // claims the question; D joins while C's agent is at work on it.
    let asking = a.spawn_send(
        "marker",
        "arangodb",
        &format!("[[delay:{SLOW_QUESTION_MS}]] a read-only look"),
    );
    eventually("node-c to claim the question", ANSWERED_WITHIN, || {
        (in_flight(&fleet_status(&a), "node-c") == 1).then_some(())
    });
    eventually("C's child to run", ANSWERED_WITHIN, || {
        (c.processes().len() > 1).then_some(())
    });
    d.start_ok();
    let claimed_at = Instant::now();

    role.cut_off();
    let cut_at = Instant::now();

    let (still_asking, told) = if retry_read_only {
        // D takes the question over once C's lease runs out.
        eventually(
            "node-d to take the question over",
            Duration::from_secs(SHORT_LEASE_S) + ANSWERED_WITHIN,
            || (in_flight(&fleet_status(&a), "node-d") == 1).then_some(()),
        );
        eprintln!(
            "node-d took the question over {:?} after node-c was cut off (lease {SHORT_LEASE_S} s)",
            cut_at.elapsed()
        );
        (Some(asking), None)
    } else {
        let told = asking.finish(Duration::from_secs(SHORT_LEASE_S) + ANSWERED_WITHIN);
        eprintln!(
            "the asker was told {:?} after node-c was cut off (lease {SHORT_LEASE_S} s)",
            cut_at.elapsed()
        );
        (None, Some(told))
    };
    let status = fleet_status(&a);
    let lost = node_in(&status, "node-c").expect("node-c is listed");
    assert_eq!(lost["alive"], false, "C lost the fleet: {status}");
    assert_eq!(lost["in_flight"], 0, "C holds nothing: {status}");
    assert_eq!(in_flight(&status, "node-d"), i64::from(retry_read_only));

    // C's agent is still at work: its answer comes after C is back.
    assert!(
        !log_of(&c).contains(LATE_ANSWER_LOGGED),
        "C's agent answered before node-c was let back ({:?} after it claimed): {SLOW_QUESTION_MS} ms is too short a delay for this machine\nC's log:\n{}",
        claimed_at.elapsed(),
        c.log_tail()
    );
    let back_ms = claude_comms::time::now_ms();
    role.let_back();
    let back_at = Instant::now();
    eventually("node-c to rejoin the fleet", ANSWERED_WITHIN, || {
        alive_since(&fleet_status(&a), "node-c", back_ms).then_some(())
    });
    eprintln!(
        "node-c was live again {:?} after its login came back",
        back_at.elapsed()
    );

    // C's agent answers; the store refuses it: C no longer holds the question.
    let refused = if retry_read_only {
        "no longer held by node \"node-c\""
    } else {
        "is already interrupted"
    };
    let late = poll_until(ANSWERED_WITHIN, || {
        let log = log_of(&c);
        (log.contains(LATE_ANSWER_LOGGED) && log.contains(refused)).then_some(())
    });
    assert!(
        late.is_some(),
        "C did not log its late answer refused with \"{refused}\" within {ANSWERED_WITHIN:?}; C's log:\n{}",
        c.log_tail()
    );

    match (still_asking, told) {
        (Some(asking), _) => {
            let sent = json_of(&asking.finish(ANSWERED_WITHIN));
            assert_eq!(sent["status"], "delivered", "{sent}");
            assert!(
                answered_by(&sent["reply"], &d, "arangodb"),
                "not D's answer: {sent}\nC's log:\n{}",
                c.log_tail()
            );
            assert_eq!(sent["node"], "node-d", "{sent}");
            assert!(
                sent["retried"]
                    .as_str()
                    .is_some_and(|r| r.contains("node-d")),
                "the answer does not say it was asked again on node-d: {sent}"
            );
        }
        (None, Some(told)) => {
            let text = said(&told);
            assert!(!told.status.success(), "{text}");
            assert!(
                text.contains("node-c") && text.contains("lease"),
                "the asker is not told that C's lease ran out: {text}"
            );
        }
        (None, None) => unreachable!("the asker is waiting or was told"),
    }

    // Answered at most once, and never by C: one reply (D's) or none.
    let outcomes = outcomes_per_query(&cluster, database);
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(
        (outcomes[0].1, outcomes[0].2),
        (i64::from(retry_read_only), 0),
        "replies and errors stored for the question: {outcomes:?}\nC's log:\n{}",
        c.log_tail()
    );
    let listed = jobs(&a);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let expected = if retry_read_only {
        "delivered"
    } else {
        "interrupted"
    };
    assert_eq!(listed[0]["status"], expected, "{listed:?}");

    // C is a working node again: with D gone, C answers the next question.
    let stopped = d.stop();
    assert!(stopped.status.success(), "{}", said(&stopped));
    let after = ask(&a, "marker", "arangodb", "after the cut");
    assert!(
        answered_by(&after["reply"], &c, "arangodb"),
        "not C's answer: {after}\nC's log:\n{}",
        c.log_tail()
    );
}
