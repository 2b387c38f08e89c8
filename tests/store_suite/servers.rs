//! The processes sharing a store: servers and their instances, recovery
//! of a dead server's queries, and control requests between processes.

use std::collections::BTreeSet;
use std::sync::Arc;

use claude_comms::store::{ControlRequest, InstanceRecord, MessageStatus, StoreError};
use claude_comms::time::now_ms;
use tokio::task::JoinSet;

use super::Backend;
use super::helpers::{ask, clock_past, dead_server, live_server, pair, remote_server, reply};

pub fn instance(id: &str, state: &str) -> InstanceRecord {
    InstanceRecord {
        id: id.into(),
        name: Some(format!("{id}-name")),
        backend: "claude-code-mcp".into(),
        state: state.into(),
        pid: Some(42),
        module_pair: Some("marker->arangodb".into()),
        started_at: Some(1_700_000_000_000),
        requests_served: 3,
        in_flight: 1,
        queued: 2,
        restarts: 0,
        last_error: None,
        rss_kib: Some(1024),
    }
}

pub async fn servers_list_their_instances_alive_or_not(b: &impl Backend) {
    let (s, other) = (b.open("main"), b.open("main"));
    let before = now_ms();
    let me = claude_comms::store::ServerRecord {
        module: Some("marker".into()),
        ..live_server("srv-live")
    };
    s.register_server(&me).await.unwrap();
    let (a, b2) = (instance("mcp-1", "ready"), instance("stream-1", "busy"));
    s.heartbeat("srv-live", vec![b2.clone(), a.clone()])
        .await
        .unwrap();
    let listed = other.list_instances(60_000).await.unwrap();
    assert_eq!(
        listed.iter().map(|(_, i)| i.clone()).collect::<Vec<_>>(),
        [a.clone(), b2.clone()],
        "by server, then by instance id"
    );
    let (row, _) = &listed[0];
    assert_eq!(row.record, me);
    assert!(row.alive && !row.stopped, "{row:?}");
    assert!(row.last_heartbeat >= before);

    // A heartbeat replaces the list of instances.
    let busy = InstanceRecord {
        last_error: Some(format!("child said: {}", "e".repeat(100_000))),
        ..instance("mcp-1", "restarting")
    };
    s.heartbeat("srv-live", vec![busy]).await.unwrap();
    let listed = other.list_instances(60_000).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1.state, "restarting");
    let error = listed[0].1.last_error.clone().unwrap_or_default();
    assert!(
        error.starts_with("child said: ") && error.len() < 70_000,
        "a long error is clipped, not refused ({} bytes)",
        error.len()
    );

    s.register_server(&dead_server("srv-dead")).await.unwrap();
    s.heartbeat("srv-dead", vec![instance("mcp-9", "ready")])
        .await
        .unwrap();
    s.register_server(&remote_server("srv-remote"))
        .await
        .unwrap();
    s.heartbeat("srv-remote", vec![instance("mcp-8", "ready")])
        .await
        .unwrap();
    let alive = |listed: &[(claude_comms::store::ServerRow, InstanceRecord)], id: &str| {
        listed
            .iter()
            .find(|(row, _)| row.record.id == id)
            .map(|(row, _)| row.alive)
    };
    let listed = other.list_instances(60_000).await.unwrap();
    assert_eq!(alive(&listed, "srv-live"), Some(true));
    assert_eq!(alive(&listed, "srv-dead"), Some(false), "its pid is gone");
    assert_eq!(
        alive(&listed, "srv-remote"),
        Some(true),
        "elsewhere, a fresh heartbeat is enough"
    );

    // A clean stop: the server is stopped and has no instances.
    s.unregister_server("srv-live").await.unwrap();
    let listed = other.list_instances(60_000).await.unwrap();
    assert_eq!(alive(&listed, "srv-live"), None);
    assert_eq!(listed.len(), 2);
    // Registering again starts it afresh.
    s.register_server(&me).await.unwrap();
    s.heartbeat("srv-live", vec![instance("mcp-1", "ready")])
        .await
        .unwrap();
    let listed = other.list_instances(60_000).await.unwrap();
    assert_eq!(alive(&listed, "srv-live"), Some(true));
}

pub async fn recovery_interrupts_only_the_pending_queries_of_dead_servers(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    for server in [
        live_server("live"),
        dead_server("dead"),
        remote_server("remote"),
    ] {
        s.register_server(&server).await.unwrap();
    }
    let of_live = ask(&s, &c.id, "of a live server", "live").await;
    let of_dead = ask(&s, &c.id, "of a dead server", "dead").await;
    let of_remote = ask(&s, &c.id, "of a server elsewhere", "remote").await;
    let of_unknown = ask(&s, &c.id, "of a server never registered", "ghost").await;
    let mine = ask(&s, &c.id, "mine", "me").await;
    let answered = ask(&s, &c.id, "answered", "dead").await;
    s.finish_query(&answered.id, reply("done")).await.unwrap();

    assert_eq!(s.recover_interrupted("me", 60_000).await.unwrap(), 2);
    let status = |id: String| {
        let s = &s;
        async move { s.message(&id).await.unwrap() }
    };
    let dead = status(of_dead.id.clone()).await;
    assert_eq!(dead.status, MessageStatus::Interrupted);
    assert!(
        dead.error
            .as_deref()
            .unwrap_or_default()
            .contains("stopped"),
        "{dead:?}"
    );
    assert_eq!(
        status(of_unknown.id.clone()).await.status,
        MessageStatus::Interrupted
    );
    for pending in [&of_live, &of_remote, &mine] {
        assert_eq!(
            status(pending.id.clone()).await.status,
            MessageStatus::Pending
        );
    }
    assert_eq!(
        status(answered.id.clone()).await.status,
        MessageStatus::Delivered
    );
    assert_eq!(
        s.recover_interrupted("me", 60_000).await.unwrap(),
        0,
        "once"
    );
    // A late answer to an interrupted query is refused, not stored.
    let e = s
        .finish_query(&of_dead.id, reply("late"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::NotPending { ref status, .. } if status == "interrupted"),
        "{e}"
    );

    // A heartbeat older than the allowed staleness is a dead server, here
    // or elsewhere, even when its pid exists.
    let beats = s.list_instances(60_000).await.unwrap();
    assert!(beats.is_empty(), "no instances were reported");
    clock_past(now_ms() + 2).await;
    assert_eq!(s.recover_interrupted("me", 1).await.unwrap(), 2);
    assert_eq!(
        status(of_live.id.clone()).await.status,
        MessageStatus::Interrupted
    );
    assert_eq!(
        status(of_remote.id.clone()).await.status,
        MessageStatus::Interrupted
    );
    assert_eq!(status(mine.id.clone()).await.status, MessageStatus::Pending);

    // A stopped server is dead however fresh its heartbeat.
    s.register_server(&live_server("stopping")).await.unwrap();
    let of_stopped = ask(&s, &c.id, "of a stopping server", "stopping").await;
    s.unregister_server("stopping").await.unwrap();
    assert_eq!(s.recover_interrupted("me", 60_000).await.unwrap(), 1);
    assert_eq!(
        status(of_stopped.id).await.status,
        MessageStatus::Interrupted
    );
}

pub async fn control_requests_reach_their_server_once(b: &impl Backend) {
    let (s, other) = (b.open("main"), b.open("main"));
    let pause = s.request_control("srv-a", "mcp-1", "pause").await.unwrap();
    let stop = other
        .request_control("srv-a", "mcp-2", "stop")
        .await
        .unwrap();
    let resume = s.request_control("srv-b", "mcp-9", "resume").await.unwrap();
    assert!(
        pause < stop && stop < resume,
        "ids grow: {pause} {stop} {resume}"
    );
    assert_eq!(s.control_result(pause).await.unwrap(), None);

    let taken = other.take_control_requests("srv-a").await.unwrap();
    assert_eq!(
        taken,
        [
            ControlRequest {
                id: pause,
                instance_id: "mcp-1".into(),
                action: "pause".into()
            },
            ControlRequest {
                id: stop,
                instance_id: "mcp-2".into(),
                action: "stop".into()
            },
        ]
    );
    assert!(s.take_control_requests("srv-a").await.unwrap().is_empty());
    assert!(
        other
            .take_control_requests("srv-a")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.take_control_requests("srv-b").await.unwrap(),
        [ControlRequest {
            id: resume,
            instance_id: "mcp-9".into(),
            action: "resume".into()
        }]
    );
    assert_eq!(
        s.control_result(pause).await.unwrap(),
        None,
        "taken, not done"
    );
    other
        .finish_control(pause, true, "mcp-1 is paused")
        .await
        .unwrap();
    other
        .finish_control(stop, false, "no instance mcp-2")
        .await
        .unwrap();
    assert_eq!(
        s.control_result(pause).await.unwrap(),
        Some((true, "mcp-1 is paused".into()))
    );
    assert_eq!(
        s.control_result(stop).await.unwrap(),
        Some((false, "no instance mcp-2".into()))
    );
    assert_eq!(s.control_result(resume + 1_000).await.unwrap(), None);

    // Two handles of one server polling at once take each request once.
    let handles = [Arc::new(s), Arc::new(other)];
    let mut requested = BTreeSet::new();
    for i in 0..20 {
        let id = handles[i % 2]
            .request_control("srv-c", &format!("mcp-{i}"), "stop")
            .await
            .unwrap();
        requested.insert(id);
    }
    let mut pollers = JoinSet::new();
    for store in handles.iter().cloned().chain(handles.iter().cloned()) {
        pollers.spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..5 {
                mine.extend(store.take_control_requests("srv-c").await.unwrap());
            }
            mine
        });
    }
    let mut taken = Vec::new();
    while let Some(done) = pollers.join_next().await {
        taken.extend(done.unwrap().into_iter().map(|r| r.id));
    }
    let unique: BTreeSet<i64> = taken.iter().copied().collect();
    assert_eq!(unique.len(), taken.len(), "no request is taken twice");
    assert_eq!(unique, requested, "every request is taken");
}
