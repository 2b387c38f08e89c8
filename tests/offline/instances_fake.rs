//! The instance manager against the in-repo fake child (no Node needed):
//! answers, affinity, crash and restart, timeout, cancel, crash-loop,
//! fairness, pause/resume, and no orphans after shutdown.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use claude_comms::config::{BackendKind, InstancesConfig};
use claude_comms::instances::{InstanceError, InstanceManager, InstanceState, Query};
use tokio_util::sync::CancellationToken;

fn config(env: &[(&str, &str)]) -> InstancesConfig {
    let mut config = InstancesConfig::default();
    config.claude_code_mcp.command = env!("CARGO_BIN_EXE_fake-mcp-child").to_string();
    config.claude_code_mcp.args = Vec::new();
    config.claude_code_mcp.env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    config.claude_code_mcp.pool_max = 2;
    config.claude_code_mcp.max_in_flight = 4;
    config.max_restarts = 3;
    config.crash_window_s = 60;
    config
}

fn query(source: &str, target: &str, prompt: &str) -> Query {
    Query {
        backend: BackendKind::ClaudeCodeMcp,
        source: source.into(),
        target: target.into(),
        conversation_id: format!("{source}-{target}"),
        prompt: prompt.into(),
        workdir: PathBuf::from("/tmp"),
        timeout: Duration::from_secs(30),
        resume_session: None,
        profile: Default::default(),
        progress: None,
        cancel: CancellationToken::new(),
        agent_scope: None,
    }
}

/// Yields until `condition` holds; fails the test (instead of hanging it)
/// if it does not within 20 s.
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::task::yield_now().await;
    }
}

fn process_exists(pid: u32) -> bool {
    // A zombie still has a /proc entry; it counts as left behind.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn a_query_is_answered_in_the_target_folder() {
    let manager = InstanceManager::new(config(&[]));
    let answer = manager
        .query(query("marker", "arangodb", "where are blocks stored?"))
        .await
        .unwrap();
    assert!(
        answer.text.contains("where are blocks stored?"),
        "{}",
        answer.text
    );
    assert!(answer.text.contains("/tmp"), "{}", answer.text);
    let status = manager.status(&answer.instance_id).unwrap();
    assert_eq!(status.requests_served, 1);
    assert_eq!(status.pairs, vec!["marker->arangodb"]);
    manager.shutdown().await;
}

#[tokio::test]
async fn requests_of_a_pair_stick_to_one_instance_and_pairs_spread() {
    let manager = InstanceManager::new(config(&[]));
    let a1 = manager
        .query(query("marker", "arangodb", "1"))
        .await
        .unwrap();
    let a2 = manager
        .query(query("marker", "arangodb", "2"))
        .await
        .unwrap();
    let b1 = manager
        .query(query("arangodb", "marker", "3"))
        .await
        .unwrap();
    assert_eq!(a1.instance_id, a2.instance_id);
    assert_ne!(
        a1.instance_id, b1.instance_id,
        "a second pair gets the second child"
    );
    // Many concurrent requests multiplex on the two children.
    let mut handles = Vec::new();
    for i in 0..20 {
        let m = manager.clone();
        handles.push(tokio::spawn(async move {
            m.query(query("marker", "arangodb", &format!("[[delay:20]] q{i}")))
                .await
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap().instance_id, a1.instance_id);
    }
    manager.shutdown().await;
}

#[tokio::test]
async fn a_crash_fails_only_that_request_and_the_child_restarts() {
    let manager = InstanceManager::new(config(&[]));
    let first = manager
        .query(query("marker", "arangodb", "hello"))
        .await
        .unwrap();
    let old_pid = manager.status(&first.instance_id).unwrap().pid.unwrap();

    let slow = {
        let m = manager.clone();
        tokio::spawn(async move {
            m.query(query("marker", "arangodb", "[[delay:300]] slow"))
                .await
        })
    };
    let crashed = manager
        .query(query("marker", "arangodb", "[[crash]]"))
        .await
        .unwrap_err();
    match &crashed {
        InstanceError::ChildDied {
            exit, stderr_tail, ..
        } => {
            assert_eq!(exit, "exit code 3");
            assert!(
                stderr_tail.iter().any(|l| l.contains("crashing")),
                "{stderr_tail:?}"
            );
        }
        other => panic!("expected ChildDied, got {other:?}"),
    }
    // The other request on the dead child fails too, at once, and is not replayed.
    assert!(matches!(
        slow.await.unwrap(),
        Err(InstanceError::ChildDied { .. })
    ));

    // While the crashed child waits out its backoff, the pair is served by a
    // healthy one; the crashed one is restarted with a new process.
    let next = manager
        .query(query("marker", "arangodb", "again"))
        .await
        .unwrap();
    assert!(next.text.contains("again"));
    let mut events = manager.subscribe(&first.instance_id).unwrap();
    while manager.status(&first.instance_id).unwrap().state != InstanceState::Ready {
        tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the crashed child is restarted within its backoff")
            .unwrap();
    }
    let status = manager.status(&first.instance_id).unwrap();
    assert_eq!(status.restarts, 1);
    assert_ne!(status.pid.unwrap(), old_pid);
    assert!(!process_exists(old_pid), "the crashed child was reaped");
    manager.shutdown().await;
}

#[tokio::test]
async fn a_hung_request_times_out_and_the_child_keeps_serving() {
    let manager = InstanceManager::new(config(&[]));
    let mut q = query("marker", "arangodb", "[[hang]]");
    q.timeout = Duration::from_millis(300);
    let err = manager.query(q).await.unwrap_err();
    assert!(matches!(err, InstanceError::Timeout { .. }), "{err:?}");
    let ok = manager
        .query(query("marker", "arangodb", "still there?"))
        .await
        .unwrap();
    assert!(ok.text.contains("still there?"));
    manager.shutdown().await;
}

#[tokio::test]
async fn cancelling_a_request_cancels_it() {
    let manager = InstanceManager::new(config(&[]));
    let q = query("marker", "arangodb", "[[delay:10000]] long");
    let cancel = q.cancel.clone();
    let m = manager.clone();
    let running = tokio::spawn(async move { m.query(q).await });
    // Cancel once the request is at the child.
    until("the request is at the child", || {
        manager.list().iter().any(|s| s.in_flight == 1)
    })
    .await;
    let status_id = manager
        .list()
        .into_iter()
        .find(|s| s.in_flight == 1)
        .unwrap()
        .instance_id;
    cancel.cancel();
    let err = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, InstanceError::Cancelled), "{err:?}");
    assert_eq!(manager.status(&status_id).unwrap().in_flight, 0);
    manager.shutdown().await;
}

#[tokio::test]
async fn a_child_that_keeps_dying_ends_in_crash_loop() {
    let manager = InstanceManager::new(config(&[("FAKE_CHILD_EXIT_AT_START", "1")]));
    let mut last = None;
    for _ in 0..6 {
        let err = manager
            .query(query("marker", "arangodb", "hi"))
            .await
            .unwrap_err();
        last = Some(err);
        if manager
            .list()
            .iter()
            .all(|s| s.state == InstanceState::CrashLoop)
            && manager.list().len() == 2
        {
            break;
        }
    }
    let err = manager
        .query(query("marker", "arangodb", "hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InstanceError::Unavailable(_)),
        "{err:?} (before: {last:?})"
    );
    assert!(err.to_string().contains("crash-loop"), "{err}");
    manager.shutdown().await;
}

#[tokio::test]
async fn a_missing_tool_is_a_clear_start_error() {
    let manager = InstanceManager::new(config(&[("FAKE_CHILD_TOOL_NAME", "something_else")]));
    let err = manager
        .query(query("marker", "arangodb", "hi"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no tool \"claude_code\""), "{text}");
    assert!(text.contains("something_else"), "{text}");
    manager.shutdown().await;
}

#[tokio::test]
async fn queued_pairs_are_served_in_turn() {
    let mut cfg = config(&[]);
    cfg.claude_code_mcp.pool_max = 1;
    cfg.claude_code_mcp.max_in_flight = 1;
    let manager = InstanceManager::new(cfg);
    manager
        .query(query("warm", "up", "start the child"))
        .await
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    // Pair A queues five requests before pair B queues one.
    for i in 0..5 {
        let (m, order) = (manager.clone(), order.clone());
        handles.push(tokio::spawn(async move {
            m.query(query("a", "x", &format!("[[delay:150]] a{i}")))
                .await
                .unwrap();
            order.lock().unwrap().push(format!("a{i}"));
        }));
        tokio::task::yield_now().await;
    }
    until("pair a has four requests queued", || {
        manager.list()[0].queued >= 4
    })
    .await;
    let (m, o) = (manager.clone(), order.clone());
    handles.push(tokio::spawn(async move {
        m.query(query("b", "x", "[[delay:30]] b0")).await.unwrap();
        o.lock().unwrap().push("b0".to_string());
    }));
    for h in handles {
        h.await.unwrap();
    }
    let order = order.lock().unwrap().clone();
    let b_at = order.iter().position(|x| x == "b0").unwrap();
    assert!(b_at <= 2, "pair b waited behind all of pair a: {order:?}");
    manager.shutdown().await;
}

#[tokio::test]
async fn a_paused_instance_takes_no_new_work_until_resumed() {
    let mut cfg = config(&[]);
    cfg.claude_code_mcp.pool_max = 1;
    let manager = InstanceManager::new(cfg);
    let first = manager
        .query(query("marker", "arangodb", "one"))
        .await
        .unwrap();
    manager.pause(&first.instance_id).unwrap();
    assert_eq!(
        manager.status(&first.instance_id).unwrap().state,
        InstanceState::Paused
    );
    let m = manager.clone();
    let waiting = tokio::spawn(async move { m.query(query("marker", "arangodb", "two")).await });
    until("the request waits for the paused instance", || {
        manager.status(&first.instance_id).unwrap().queued > 0
    })
    .await;
    assert_eq!(
        manager.status(&first.instance_id).unwrap().requests_served,
        1
    );
    manager.resume(&first.instance_id).unwrap();
    let second = waiting.await.unwrap().unwrap();
    assert_eq!(second.instance_id, first.instance_id);
    manager.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_no_process_behind() {
    let manager = InstanceManager::new(config(&[]));
    let a = manager
        .query(query("marker", "arangodb", "1"))
        .await
        .unwrap();
    let b = manager
        .query(query("arangodb", "marker", "2"))
        .await
        .unwrap();
    let pids: Vec<u32> = [a.instance_id, b.instance_id]
        .iter()
        .map(|id| manager.status(id).unwrap().pid.unwrap())
        .collect();
    assert!(pids.iter().all(|p| process_exists(*p)));
    // A request in flight during shutdown.
    let m = manager.clone();
    let pending = tokio::spawn(async move {
        m.query(query("marker", "arangodb", "[[delay:10000]] x"))
            .await
    });
    until("a request is in flight", || {
        manager.list().iter().any(|s| s.in_flight > 0)
    })
    .await;
    manager.shutdown().await;
    assert!(pending.await.unwrap().is_err());
    for pid in pids {
        assert!(
            !process_exists(pid),
            "child {pid} is still in the process table"
        );
    }
}
