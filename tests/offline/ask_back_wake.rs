//! How the two sides of an ask-back wake each other on SQLite without
//! reading the store on a timer (`hub/ask_back/wake.rs`): the agent tools
//! listen on `ask-<query id>.sock` while they wait, the dispatching hub on
//! the socket its agents' scopes name; a poke is heard at once, and the
//! sockets go with their owners. (PostgreSQL's notices: the store suite's
//! `every_handle_hears_a_question_back_asked_answered_and_closed`.)

use std::time::Duration;

use claude_comms::hub::ask_back::wake::{AgentWake, HubWake, agent_socket, poke, poke_agent};

/// A bound that only a broken wake-up reaches (a poke is heard in
/// microseconds).
const HEARD_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test]
async fn the_agent_tools_hear_the_answering_hub_poke_their_question() {
    let dir = tempfile::tempdir().unwrap();
    let query = "6f1c2e1a-0000-4000-8000-000000000001";
    let waiting = AgentWake::bind(dir.path(), query).expect("the socket binds");
    assert!(agent_socket(dir.path(), query).exists());
    // Another query's poke is not this one's.
    poke_agent(dir.path(), "6f1c2e1a-0000-4000-8000-000000000002");
    poke_agent(dir.path(), query);
    tokio::time::timeout(HEARD_WITHIN, waiting.poked())
        .await
        .expect("the poke was heard");
    drop(waiting);
    assert!(
        !agent_socket(dir.path(), query).exists(),
        "the socket goes with the wait"
    );
    // Nobody listening: a poke is no error.
    poke_agent(dir.path(), query);
}

#[tokio::test]
async fn the_hub_hears_its_agents_and_its_own_writes() {
    let dir = tempfile::tempdir().unwrap();
    let wake = HubWake::default();
    let mut changes = wake.changes();
    let socket = wake
        .socket(dir.path(), "server-1")
        .expect("the socket binds");
    assert_eq!(
        wake.socket(dir.path(), "server-1"),
        Some(socket.clone()),
        "bound once"
    );
    poke(&socket);
    tokio::time::timeout(HEARD_WITHIN, changes.changed())
        .await
        .expect("the agent's poke was heard")
        .unwrap();
    // A write of its own wakes its waiters too, even one that subscribed
    // before the write and waits after it (nothing in between is lost).
    let mut later = wake.changes();
    wake.wake();
    tokio::time::timeout(HEARD_WITHIN, later.changed())
        .await
        .expect("the write was heard")
        .unwrap();
    wake.close();
    assert!(!socket.exists(), "the socket goes with the hub's shutdown");
}
