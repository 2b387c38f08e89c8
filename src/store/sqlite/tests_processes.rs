//! Store tests across processes and handles: recovery after a crash, the
//! servers and instances registry, reopening, concurrent writers.

use serde_json::json;

use super::tests::{fresh, query, reply, store};
use super::*;
use crate::host::{pid_exists, this_hostname};
use crate::store::*;

#[test]
fn recovery_marks_only_dead_servers_pending_queries() {
    let (_dir, s) = store();
    let c = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    let host = this_hostname();
    let live = ServerRecord {
        id: "live".into(),
        pid: std::process::id(),
        hostname: host.clone(),
        started_at: 1,
        module: None,
    };
    let dead = ServerRecord {
        id: "dead".into(),
        pid: 0x7fff_fff0,
        hostname: host,
        started_at: 1,
        module: None,
    };
    s.register_server(&live).unwrap();
    s.register_server(&dead).unwrap();
    let a = fresh(
        s.begin_query(&query(&c.id, "of a live server", None, "live"))
            .unwrap(),
    );
    let b = fresh(
        s.begin_query(&query(&c.id, "of a dead server", None, "dead"))
            .unwrap(),
    );
    let mine = fresh(s.begin_query(&query(&c.id, "mine", None, "me")).unwrap());
    assert_eq!(s.recover_interrupted("me", 60_000).unwrap(), 1);
    assert_eq!(s.message(&a.id).unwrap().status, MessageStatus::Pending);
    assert_eq!(s.message(&b.id).unwrap().status, MessageStatus::Interrupted);
    assert_eq!(s.message(&mine.id).unwrap().status, MessageStatus::Pending);
    // A late answer to an interrupted query is refused, not silently stored.
    assert!(s.finish_query(&b.id, &reply("late")).is_err());
    // A server whose heartbeat went stale is dead even if its pid exists.
    let stale = ServerRecord {
        id: "stale".into(),
        pid: std::process::id(),
        hostname: this_hostname(),
        started_at: 1,
        module: None,
    };
    s.register_server(&stale).unwrap();
    let c2 = fresh(
        s.begin_query(&query(&c.id, "of a stale server", None, "stale"))
            .unwrap(),
    );
    s.conn()
        .execute(
            "UPDATE servers SET last_heartbeat = 0 WHERE id = 'stale'",
            [],
        )
        .unwrap();
    assert_eq!(s.recover_interrupted("me", 60_000).unwrap(), 1);
    assert_eq!(
        s.message(&c2.id).unwrap().status,
        MessageStatus::Interrupted
    );
    // A stopped server is dead however fresh its heartbeat.
    s.unregister_server("live").unwrap();
    assert_eq!(s.recover_interrupted("me", 60_000).unwrap(), 1);
}

#[test]
fn servers_list_their_instances_and_control_requests_round_trip() {
    let (_dir, s) = store();
    let me = ServerRecord {
        id: "srv".into(),
        pid: std::process::id(),
        hostname: this_hostname(),
        started_at: 1,
        module: Some("marker".into()),
    };
    s.register_server(&me).unwrap();
    let record = InstanceRecord {
        id: "mcp-1".into(),
        name: None,
        backend: "claude-code-mcp".into(),
        state: "ready".into(),
        pid: Some(42),
        module_pair: Some("marker->arangodb".into()),
        started_at: None,
        requests_served: 3,
        in_flight: 0,
        queued: 0,
        restarts: 0,
        last_error: None,
        rss_kib: Some(1024),
    };
    s.heartbeat("srv", std::slice::from_ref(&record)).unwrap();
    let listed = s.list_instances(60_000).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].0.alive);
    assert_eq!(listed[0].1, record);

    let id = s.request_control("srv", "mcp-1", "pause").unwrap();
    assert_eq!(s.control_result(id).unwrap(), None);
    let taken = s.take_control_requests("srv").unwrap();
    assert_eq!(
        taken,
        vec![ControlRequest {
            id,
            instance_id: "mcp-1".into(),
            action: "pause".into()
        }]
    );
    assert!(s.take_control_requests("srv").unwrap().is_empty());
    s.finish_control(id, true, "mcp-1 is paused").unwrap();
    assert_eq!(
        s.control_result(id).unwrap(),
        Some((true, "mcp-1 is paused".into()))
    );
}

#[test]
fn reopening_keeps_data_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let id = {
        let s = SqliteStore::open(&path).unwrap();
        s.create_conversation("marker", "arangodb", None, json!({}))
            .unwrap()
            .id
    };
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.conversation(&id).unwrap().source, "marker");
    s.conn()
        .execute("UPDATE schema_version SET version = 99", [])
        .unwrap();
    drop(s);
    let err = SqliteStore::open(&path)
        .err()
        .expect("a newer schema is refused");
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
}

#[test]
fn two_handles_writing_at_once_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let id = SqliteStore::open(&path)
        .unwrap()
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap()
        .id;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (path, id) = (path.clone(), id.clone());
            std::thread::spawn(move || {
                let s = SqliteStore::open(&path).unwrap();
                for i in 0..100 {
                    let q = fresh(
                        s.begin_query(&query(
                            &id,
                            &format!("t{t} q{i}"),
                            Some(&format!("{t}-{i}")),
                            "srv",
                        ))
                        .unwrap(),
                    );
                    s.finish_query(&q.id, &reply(&format!("t{t} r{i}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    let all = s.messages(&id, None, None).unwrap();
    assert_eq!(all.len(), 800);
    assert_eq!(
        all.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=800).collect::<Vec<_>>()
    );
    assert_eq!(all.iter().filter(|m| m.role == Role::Query).count(), 400);
    assert_eq!(s.conversation(&id).unwrap().message_count, 800);
}

#[test]
fn concurrent_writes_share_commits_and_a_failing_one_undoes_only_itself() {
    let (_dir, s) = store();
    let s = std::sync::Arc::new(s);
    let open = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    let archived = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    s.set_conversation_status(&archived.id, crate::store::ConversationStatus::Archived)
        .unwrap();
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let s = s.clone();
            let target = if i % 2 == 0 {
                open.id.clone()
            } else {
                archived.id.clone()
            };
            std::thread::spawn(move || {
                let q = s.begin_query(&query(&target, &format!("q{i}"), None, "srv"));
                let q = match q {
                    Ok(BeginQuery::Fresh(q)) => q,
                    Ok(other) => panic!("{other:?}"),
                    Err(e) => return Err(e.to_string()),
                };
                s.finish_query(&q.id, &reply(&format!("r{i}")))
                    .map(|r| r.seq)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for (i, result) in results.iter().enumerate() {
        if i % 2 == 0 {
            assert!(result.is_ok(), "write {i}: {result:?}");
        } else {
            assert!(
                result.as_ref().unwrap_err().contains("archived"),
                "write {i}: {result:?}"
            );
        }
    }
    // Every good write is stored once, numbered without gaps.
    let stored = s.messages(&open.id, None, None).unwrap();
    assert_eq!(stored.len(), 32);
    let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=32).collect::<Vec<_>>());
    assert!(s.messages(&archived.id, None, None).unwrap().is_empty());
}

#[test]
fn a_zombie_is_not_a_live_process() {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(pid_exists(pid), "a running child is alive");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // Not reaped yet: wait until the kernel has made it a zombie.
    let waited = nix::sys::wait::waitid(
        nix::sys::wait::Id::Pid(nix::unistd::Pid::from_raw(pid as i32)),
        nix::sys::wait::WaitPidFlag::WEXITED | nix::sys::wait::WaitPidFlag::WNOWAIT,
    );
    assert!(waited.is_ok(), "{waited:?}");
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "still in the table"
    );
    assert!(!pid_exists(pid), "an exited, unreaped child is not alive");
    child.wait().unwrap();
    assert!(!pid_exists(pid));
}
