//! The sessions of the daemon's TCP face (protocols before 2026-07-28),
//! bounded: each costs the daemon a server and its buffers (about 170 KB),
//! and any holder of any token can open them, so
//!
//! * a session belongs to the token that opened it (another token is told
//!   it does not exist);
//! * one token holds at most `[daemon] sessions_per_token`: opening one
//!   more ends that token's least recently used session;
//! * a session without requests for `[daemon] session_idle_s` is ended.
//!
//! An ended session answers 404, and its client initializes again (as the
//! MCP spec asks of clients). Ending the least recently used session
//! rather than refusing the new one keeps a host that restarted without
//! closing its old sessions (a crash, a lost network) working at once; a
//! flood from one token only churns that token's own sessions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

/// How many sessions one token may hold, and when an unused one ends.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub per_owner: usize,
    pub idle: Duration,
}

/// One open session, as the gate sees it.
#[derive(Debug)]
struct Entry {
    owner: String,
    /// When its last request arrived or its last response stream ended.
    last_seen: Instant,
    /// Requests whose responses (SSE streams included) are still open.
    in_flight: usize,
}

impl Entry {
    fn idle_since(&self, now: Instant) -> Option<Duration> {
        (self.in_flight == 0).then(|| now.saturating_duration_since(self.last_seen))
    }
}

/// What the gate should do with a request that names a session.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Go on.
    Pass,
    /// Answer 404: it belongs to another token, was idle too long, or never
    /// existed (every session of this face is opened through the table, so
    /// one it does not know is ended or unknown; a DELETE of it gets 404
    /// too, as a foreign one does).
    NotFound,
}

/// Who holds which session, and the bounds on them.
#[derive(Clone)]
pub struct SessionTable {
    limits: SessionLimits,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    live: Arc<LocalSessionManager>,
}

impl SessionTable {
    pub fn new(live: Arc<LocalSessionManager>, limits: SessionLimits) -> SessionTable {
        SessionTable {
            limits,
            entries: Arc::default(),
            live,
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks a request for session `id` by `owner` and, when it may go on,
    /// counts it in flight until [`SessionTable::finished`].
    pub async fn admit(&self, id: &str, owner: &str) -> Admission {
        let now = Instant::now();
        let expired = {
            let mut entries = self.entries();
            let Some(entry) = entries.get_mut(id) else {
                return Admission::NotFound;
            };
            if entry.owner != owner {
                return Admission::NotFound;
            }
            let expired = entry
                .idle_since(now)
                .is_some_and(|idle| idle >= self.limits.idle);
            if !expired {
                entry.in_flight += 1;
                entry.last_seen = now;
                return Admission::Pass;
            }
            entries.remove(id);
            true
        };
        if expired {
            self.end(id).await;
        }
        Admission::NotFound
    }

    /// A request admitted for session `id` has finished (its response,
    /// stream included, is closed).
    pub fn finished(&self, id: &str) {
        if let Some(entry) = self.entries().get_mut(id) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            entry.last_seen = Instant::now();
        }
    }

    /// Records a session `owner` opened, then ends what is over the bounds:
    /// sessions idle too long (anyone's) and the owner's least recently
    /// used ones past the cap. Returns how many it ended.
    pub async fn opened(&self, id: String, owner: String) -> usize {
        let live = self.live_ids().await;
        let now = Instant::now();
        let ended: Vec<String> = {
            let mut entries = self.entries();
            // rmcp ends idle sessions itself; forget those it no longer has.
            entries.retain(|id, _| live.contains(id));
            entries.insert(
                id.clone(),
                Entry {
                    owner: owner.clone(),
                    last_seen: now,
                    in_flight: 0,
                },
            );
            let mut ended: Vec<String> = entries
                .iter()
                .filter(|(_, e)| e.idle_since(now).is_some_and(|i| i >= self.limits.idle))
                .map(|(id, _)| id.clone())
                .collect();
            let mut owned: Vec<(&String, &Entry)> = entries
                .iter()
                .filter(|(other, e)| e.owner == owner && **other != id && !ended.contains(other))
                .collect();
            let over = (owned.len() + 1).saturating_sub(self.limits.per_owner);
            // Least recently used first; a session with an open stream is
            // in use, so it goes after every idle one.
            owned.sort_by_key(|(_, e)| (e.in_flight > 0, e.last_seen));
            ended.extend(owned.iter().take(over).map(|(id, _)| (*id).clone()));
            for id in &ended {
                entries.remove(id);
            }
            ended
        };
        for id in &ended {
            self.end(id).await;
        }
        if !ended.is_empty() {
            tracing::info!(
                ended = ended.len(),
                "HTTP sessions ended (idle or over the per-token cap)"
            );
        }
        ended.len()
    }

    /// A session ended by its client (DELETE).
    pub fn closed(&self, id: &str) {
        self.entries().remove(id);
    }

    /// How many sessions `owner` holds now (as this table counts them).
    #[cfg(test)]
    pub fn held_by(&self, owner: &str) -> usize {
        self.entries().values().filter(|e| e.owner == owner).count()
    }

    async fn live_ids(&self) -> std::collections::HashSet<String> {
        self.live
            .sessions
            .read()
            .await
            .keys()
            .map(|k| k.to_string())
            .collect()
    }

    /// Ends a session in rmcp: its worker and streams stop, and its id
    /// answers 404 from now on.
    async fn end(&self, id: &str) {
        if let Err(e) = self.live.close_session(&id.to_string().into()).await {
            tracing::debug!(error = %e, "ending an HTTP session");
        }
    }
}

/// rmcp's session manager with the idle timeout applied, so sessions whose
/// clients left are freed even if no request ever names them again.
pub fn session_manager(idle: Duration) -> LocalSessionManager {
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(idle);
    manager
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(per_owner: usize, idle: Duration) -> SessionTable {
        SessionTable::new(
            Arc::new(session_manager(idle)),
            SessionLimits { per_owner, idle },
        )
    }

    /// Registers an (empty) rmcp session so the table sees it as live.
    async fn open(table: &SessionTable, owner: &str) -> (String, usize) {
        use rmcp::transport::streamable_http_server::session::SessionManager;
        let (id, _transport) = table.live.create_session().await.unwrap();
        let ended = table.opened(id.to_string(), owner.to_string()).await;
        (id.to_string(), ended)
    }

    #[tokio::test]
    async fn one_owner_never_holds_more_than_the_cap_and_the_least_recent_goes() {
        let table = table(3, Duration::from_secs(600));
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(open(&table, "token:a").await.0);
        }
        // The first is used again, so the second is now the least recent.
        assert_eq!(table.admit(&ids[0], "token:a").await, Admission::Pass);
        table.finished(&ids[0]);
        let (_, ended) = open(&table, "token:a").await;
        assert_eq!(ended, 1);
        assert_eq!(table.held_by("token:a"), 3);
        let live = table.live_ids().await;
        assert!(!live.contains(&ids[1]), "the least recently used ended");
        assert!(live.contains(&ids[0]) && live.contains(&ids[2]));
        // Another owner has its own allowance.
        for _ in 0..3 {
            assert_eq!(open(&table, "token:b").await.1, 0);
        }
        for _ in 0..50 {
            open(&table, "token:a").await;
        }
        assert_eq!(table.held_by("token:a"), 3);
        assert_eq!(table.held_by("token:b"), 3);
        assert_eq!(table.live_ids().await.len(), 6, "nothing else is kept");
    }

    #[tokio::test]
    async fn another_owner_and_an_idle_session_are_not_found() {
        let table = table(8, Duration::from_millis(1));
        let (id, _) = open(&table, "token:a").await;
        assert_eq!(table.admit(&id, "token:b").await, Admission::NotFound);
        // Idle is measured from the last request; the wait is the limit.
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(table.admit(&id, "token:a").await, Admission::NotFound);
        assert!(!table.live_ids().await.contains(&id), "ended in rmcp too");
        assert_eq!(
            table.admit("unknown", "token:a").await,
            Admission::NotFound,
            "an id it never had is not found either"
        );
    }

    #[tokio::test]
    async fn a_session_with_an_open_stream_is_not_idle() {
        let table = table(8, Duration::from_millis(1));
        let (id, _) = open(&table, "token:a").await;
        assert_eq!(table.admit(&id, "token:a").await, Admission::Pass);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(table.admit(&id, "token:a").await, Admission::Pass);
    }
}
