//! The test harness itself: a throw-away cluster starts, serves, survives
//! restarts, stops, and leaves no process and no folder behind, even when
//! the test that holds it panics.

use std::collections::BTreeSet;

use crate::pg_cluster::{PgCluster, Shutdown, pid_alive, processes_naming};

/// Every pid of `pids` that is still alive.
fn alive(pids: &[u32]) -> Vec<u32> {
    pids.iter().copied().filter(|p| pid_alive(*p)).collect()
}

#[test]
fn a_cluster_serves_survives_restarts_and_leaves_nothing_behind() {
    let Some(mut cluster) = PgCluster::start() else {
        return;
    };
    let data = cluster.data_dir();
    let url = cluster.create_database("harness");
    assert_eq!(
        url,
        format!("postgres://comms@127.0.0.1:{}/harness", cluster.port())
    );
    cluster
        .sql(
            "harness",
            "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)",
        )
        .unwrap();
    let mut seen: BTreeSet<u32> = cluster.processes().into_iter().collect();
    assert!(!seen.is_empty(), "a running cluster has processes");

    for mode in [Shutdown::Fast, Shutdown::Immediate] {
        let before = cluster.processes();
        cluster.restart(mode);
        assert_eq!(
            alive(&before),
            Vec::<u32>::new(),
            "{mode:?}: the old server is gone"
        );
        let after = cluster.processes();
        assert!(!after.is_empty(), "{mode:?}: a new server runs");
        seen.extend(after);
        assert_eq!(
            cluster.sql("harness", "SELECT n FROM kept").unwrap(),
            "7",
            "{mode:?}: committed data survives the restart"
        );
    }

    cluster.stop(Shutdown::Fast);
    assert_eq!(cluster.processes(), Vec::<u32>::new());
    assert_eq!(processes_naming(&data), Vec::<u32>::new());
    let refused = cluster.sql("harness", "SELECT 1").unwrap_err();
    assert!(
        refused.contains("refused") || refused.contains("connect"),
        "{refused}"
    );

    cluster.start_again();
    assert_eq!(cluster.sql("harness", "SELECT n FROM kept").unwrap(), "7");
    seen.extend(cluster.processes());

    drop(cluster);
    let seen: Vec<u32> = seen.into_iter().collect();
    assert_eq!(alive(&seen), Vec::<u32>::new(), "no server process is left");
    assert_eq!(processes_naming(&data), Vec::<u32>::new());
    assert!(!data.exists(), "the cluster's folder is removed");
}

#[test]
fn a_test_that_panics_leaves_no_server_behind() {
    let mut held = None;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let Some(cluster) = PgCluster::start() else {
            return;
        };
        held = Some((cluster.data_dir(), cluster.processes()));
        panic!("a failing test step, on purpose");
    }));
    let Some((data, pids)) = held else {
        return;
    };
    assert!(outcome.is_err(), "the test panicked");
    assert!(!pids.is_empty());
    assert_eq!(alive(&pids), Vec::<u32>::new(), "no server process is left");
    assert_eq!(processes_naming(&data), Vec::<u32>::new());
    assert!(!data.exists(), "the cluster's folder is removed");
}

#[test]
fn clusters_side_by_side_are_separate() {
    let (Some(a), Some(b)) = (PgCluster::start(), PgCluster::start()) else {
        return;
    };
    assert_ne!(a.port(), b.port());
    a.create_database("only_in_a");
    let listed = |c: &PgCluster| {
        c.sql("postgres", "SELECT datname FROM pg_database ORDER BY 1")
            .unwrap()
    };
    assert!(listed(&a).contains("only_in_a"));
    assert!(!listed(&b).contains("only_in_a"));
}
