//! One instance: a supervised slot that holds at most one child process at
//! a time (a restart replaces the child, the instance id stays).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ChildProfile;
use super::mcp_child::McpChild;
use super::process::StderrLog;
use super::stream_child::StreamChild;
use crate::config::BackendKind;
use crate::time::now_ms;

/// Lifecycle of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Starting,
    Ready,
    Busy,
    Paused,
    Stopping,
    Stopped,
    Failed,
    CrashLoop,
}

impl InstanceState {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Starting => "starting",
            InstanceState::Ready => "ready",
            InstanceState::Busy => "busy",
            InstanceState::Paused => "paused",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
            InstanceState::Failed => "failed",
            InstanceState::CrashLoop => "crash-loop",
        }
    }
}

/// What `instance_status` and `list_instances` report.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InstanceStatus {
    pub instance_id: String,
    /// The name an operator gave it; every instance command accepts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub backend: BackendKind,
    pub state: InstanceState,
    pub pid: Option<u32>,
    /// Stream instances serve one conversation of one module pair.
    pub module: Option<String>,
    pub conversation_id: Option<String>,
    /// Module pairs whose requests stick to this instance (`source->target`).
    pub pairs: Vec<String>,
    pub started_ms: i64,
    pub uptime_s: u64,
    pub requests_served: u64,
    pub in_flight: usize,
    pub queued: usize,
    pub restarts: u32,
    pub last_error: Option<String>,
    pub stderr_tail: Vec<String>,
    /// Stream instances: the Claude session the process holds.
    pub session_id: Option<String>,
    /// Resident memory of the child's whole process tree (its process
    /// group), in KiB; absent when no child runs.
    #[serde(default)]
    pub rss_kib: Option<u64>,
    /// A stream process started ahead of a conversation, without a message
    /// (see `instances.claude_stream.standby`).
    #[serde(default)]
    pub standby: bool,
}

/// Mutable bookkeeping, behind a short-held lock.
pub(crate) struct Book {
    pub state: InstanceState,
    pub paused: bool,
    pub pid: Option<u32>,
    pub in_flight: usize,
    pub served: u64,
    pub restarts: u32,
    pub failures: VecDeque<Instant>,
    pub last_error: Option<String>,
    pub last_used: Instant,
    pub started: Instant,
    pub started_ms: i64,
    /// Set while an operator or the idle reaper stops the child on purpose,
    /// so its exit is not taken for a crash.
    pub stopping_on_purpose: bool,
    pub session_id: Option<String>,
    /// Stream backend: the conversation this instance serves (none while
    /// it stands by for the next new conversation).
    pub conversation_id: Option<String>,
}

/// What an instance is created with.
pub(crate) struct InstanceSpec {
    pub id: String,
    pub backend: BackendKind,
    pub module: Option<String>,
    pub conversation_id: Option<String>,
    pub name: Option<String>,
    pub profile: ChildProfile,
}

pub(crate) struct Instance {
    pub id: String,
    pub backend: BackendKind,
    pub module: Option<String>,
    /// The name an operator gave it (unique among this pool's instances).
    pub name: Option<String>,
    /// What every child of this instance is started with beyond the
    /// backend's config; only queries of the same profile are served here.
    pub profile: ChildProfile,
    pub log: Arc<StderrLog>,
    pub book: Mutex<Book>,
    /// MCP backend: the current child; calls clone the Arc and release the lock.
    pub mcp: tokio::sync::RwLock<Option<Arc<McpChild>>>,
    /// Serialises child starts so concurrent first requests start one child.
    pub start_lock: tokio::sync::Mutex<()>,
    /// Stream backend: one turn at a time (tokio's mutex is FIFO-fair).
    pub stream: tokio::sync::Mutex<Option<StreamChild>>,
}

impl Instance {
    pub fn new(
        spec: InstanceSpec,
        event_dir: Option<&std::path::Path>,
        redactor: Arc<crate::redact::Redactor>,
    ) -> Arc<Instance> {
        let InstanceSpec {
            id,
            backend,
            module,
            conversation_id,
            name,
            profile,
        } = spec;
        let log = StderrLog::new(&id, event_dir, redactor);
        Arc::new(Instance {
            id,
            backend,
            module,
            name,
            profile,
            log,
            book: Mutex::new(Book {
                state: InstanceState::Starting,
                paused: false,
                pid: None,
                in_flight: 0,
                served: 0,
                restarts: 0,
                failures: VecDeque::new(),
                last_error: None,
                last_used: Instant::now(),
                started: Instant::now(),
                started_ms: now_ms(),
                stopping_on_purpose: false,
                session_id: None,
                conversation_id,
            }),
            mcp: tokio::sync::RwLock::new(None),
            start_lock: tokio::sync::Mutex::new(()),
            stream: tokio::sync::Mutex::new(None),
        })
    }

    pub fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_state(&self, state: InstanceState) {
        let changed = {
            let mut book = self.book();
            let changed = book.state != state;
            book.state = state;
            changed
        };
        if changed {
            self.log.event("state", state.as_str().to_string());
        }
    }

    /// Whether new work may be given to this instance.
    pub fn accepts_work(&self) -> bool {
        let book = self.book();
        !book.paused
            && matches!(
                book.state,
                InstanceState::Starting
                    | InstanceState::Ready
                    | InstanceState::Busy
                    | InstanceState::Stopped
            )
    }

    /// The current MCP child, if it is alive.
    pub async fn live_mcp_child(&self) -> Option<Arc<McpChild>> {
        self.mcp.read().await.clone().filter(|c| c.is_alive())
    }

    /// Counts one more request in flight, if there is room under `max`.
    pub fn take_room(&self, max: usize) -> bool {
        let mut book = self.book();
        if book.in_flight >= max {
            return false;
        }
        book.in_flight += 1;
        book.last_used = Instant::now();
        true
    }

    /// Undoes [`Instance::take_room`] for a request that never ran.
    pub fn give_back_room(&self) {
        let mut book = self.book();
        book.in_flight = book.in_flight.saturating_sub(1);
    }

    /// A request that ran on this instance has ended, however it ended.
    pub fn finish_request(&self) {
        let mut book = self.book();
        book.in_flight = book.in_flight.saturating_sub(1);
        book.served += 1;
        book.last_used = Instant::now();
        if book.in_flight == 0 && book.state == InstanceState::Busy {
            book.state = InstanceState::Ready;
        }
    }

    /// Records a failure; true when too many happened within `window` (crash loop).
    pub fn record_failure(&self, error: &str, max: u32, window: Duration) -> bool {
        let mut book = self.book();
        let now = Instant::now();
        book.failures.push_back(now);
        while book
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            book.failures.pop_front();
        }
        book.last_error = Some(error.to_string());
        book.failures.len() as u32 >= max
    }

    pub fn status(
        &self,
        queued: usize,
        pairs: Vec<String>,
        rss_kib: Option<u64>,
    ) -> InstanceStatus {
        let book = self.book();
        InstanceStatus {
            instance_id: self.id.clone(),
            name: self.name.clone(),
            backend: self.backend,
            state: if book.paused && book.state != InstanceState::CrashLoop {
                InstanceState::Paused
            } else {
                book.state
            },
            pid: book.pid,
            module: self.module.clone(),
            conversation_id: book.conversation_id.clone(),
            pairs,
            started_ms: book.started_ms,
            uptime_s: book.started.elapsed().as_secs(),
            requests_served: book.served,
            in_flight: book.in_flight,
            queued,
            restarts: book.restarts,
            last_error: book.last_error.clone(),
            stderr_tail: self.log.tail(20),
            session_id: book.session_id.clone(),
            rss_kib: book.pid.and(rss_kib),
            standby: self.backend == BackendKind::ClaudeStream && book.conversation_id.is_none(),
        }
    }
}
