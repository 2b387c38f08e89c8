//! Notices of an ask-back, so that neither side reads the store on a
//! timer. On PostgreSQL the store notifies (`claude_comms_ask_backs`, and
//! `claude_comms_outcomes` when a query ends) and every waiter on every
//! node hears it through the store's listener. On SQLite the two sides are
//! processes of one machine sharing one data dir, and wake each other with
//! a datagram (the store is still the only truth; a datagram only says
//! "read again"):
//!
//! * the hub that dispatched the question binds `hub-<server id>.sock` in the
//!   agent tools' folder and names it in the agent's scope; the agent
//!   tools poke it when they store or close a question, and the hub wakes
//!   its waiters ([`HubWake::changes`]);
//! * the agent tools, while waiting for an answer, bind
//!   `ask-<query id>.sock` there; whichever hub process answers, declines
//!   or ends the question pokes it ([`poke_agent`]).
//!
//! A notice can be missed (a listener reconnecting, a datagram to a
//! process not yet listening), so every wait also re-reads after
//! [`RECHECK`]: a bound, not the way news arrives.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::watch;

/// The longest a waiter goes without reading the store again, should a
/// notice be lost.
pub const RECHECK: Duration = Duration::from_secs(2);

/// Where the agent tools waiting on query `query_id` listen.
pub fn agent_socket(agent_tools_dir: &Path, query_id: &str) -> PathBuf {
    agent_tools_dir.join(format!("ask-{query_id}.sock"))
}

/// Tells whoever listens at `path` to read the store again. Best effort:
/// nobody listening is nothing to report.
pub fn poke(path: &Path) {
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = socket.set_nonblocking(true);
        let _ = socket.send_to(b"read again", path);
    }
}

/// Pokes the agent tools waiting on query `query_id`, if any listen.
pub fn poke_agent(agent_tools_dir: &Path, query_id: &str) {
    poke(&agent_socket(agent_tools_dir, query_id));
}

/// The hub's side on SQLite: a socket the agent tools poke, bound on
/// first use, and a counter of pokes its waiters watch.
pub struct HubWake {
    changes: watch::Sender<u64>,
    bound: OnceLock<Option<Bound>>,
}

impl Default for HubWake {
    fn default() -> HubWake {
        HubWake {
            changes: watch::channel(0).0,
            bound: OnceLock::new(),
        }
    }
}

struct Bound {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl HubWake {
    /// A receiver that sees every poke from now on (subscribe before
    /// reading the store, then wait for `changed`).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Wakes this process's waiters (a write of its own).
    pub fn wake(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The socket the agent tools poke, bound in `dir` on first use as
    /// `hub-<name>.sock` (`name`: the hub's server id, unique even among
    /// hubs of one process); `None` if it cannot be (the waits then
    /// re-read after [`RECHECK`]).
    pub fn socket(&self, dir: &Path, name: &str) -> Option<PathBuf> {
        let bound = self.bound.get_or_init(|| {
            let path = dir.join(format!("hub-{name}.sock"));
            let _ = std::fs::remove_file(&path);
            let socket = match tokio::net::UnixDatagram::bind(&path) {
                Ok(socket) => socket,
                Err(e) => {
                    tracing::debug!(path = %path.display(), error = %e, "no ask-back socket; waits re-read the store instead");
                    return None;
                }
            };
            let sender = self.changes.clone();
            let task = tokio::spawn(async move {
                let mut buffer = [0u8; 64];
                while socket.recv(&mut buffer).await.is_ok() {
                    sender.send_modify(|n| *n = n.wrapping_add(1));
                }
            });
            Some(Bound { path, task })
        });
        bound.as_ref().map(|b| b.path.clone())
    }
}

impl HubWake {
    /// Stops listening and removes the socket (the hub shuts down).
    pub fn close(&self) {
        if let Some(Some(bound)) = self.bound.get() {
            bound.task.abort();
            let _ = std::fs::remove_file(&bound.path);
        }
    }
}

impl Drop for HubWake {
    fn drop(&mut self) {
        self.close();
    }
}

/// The agent tools' side on SQLite: `ask-<query id>.sock`, bound while a
/// question waits; removed when dropped.
pub struct AgentWake {
    socket: tokio::net::UnixDatagram,
    path: PathBuf,
}

impl AgentWake {
    /// Listens for pokes about query `query_id`; `None` if the socket
    /// cannot be bound (the wait then re-reads after [`RECHECK`]).
    pub fn bind(agent_tools_dir: &Path, query_id: &str) -> Option<AgentWake> {
        let path = agent_socket(agent_tools_dir, query_id);
        let _ = std::fs::remove_file(&path);
        match tokio::net::UnixDatagram::bind(&path) {
            Ok(socket) => Some(AgentWake { socket, path }),
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "no ask-back socket; the wait re-reads the store instead");
                None
            }
        }
    }

    /// The next poke.
    pub async fn poked(&self) {
        let mut buffer = [0u8; 64];
        let _ = self.socket.recv(&mut buffer).await;
    }
}

impl Drop for AgentWake {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_wakes_a_waiter_until_something_happens() {
        let wake = HubWake::default();
        let mut changes = wake.changes();
        let quiet = tokio::time::timeout(Duration::from_millis(200), changes.changed()).await;
        assert!(quiet.is_err(), "woken for nothing: {quiet:?}");
        wake.wake();
        assert!(changes.changed().await.is_ok());
    }
}
