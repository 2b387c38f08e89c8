//! The instance manager: owns every instance and every task it starts,
//! mints instance ids, and hands a query to the backend it names. The two
//! backends live beside it (`mcp_scheduler.rs`, `stream_backend.rs`), the
//! operator's operations in `operations.rs`, supervision in `supervisor.rs`,
//! which hears about child exits over a channel. Those files add methods to
//! [`InstanceManager`]; this one imports none of them but the supervisor.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::instance::{Instance, InstanceState};
use super::mcp_child::McpChild;
use super::supervisor::{self, SupervisorEvent};
use super::{Answer, ChildProfile, InstanceError, Query};
use crate::config::{BackendKind, InstancesConfig};

/// How long shutdown waits for the manager's own tasks once every child is
/// stopped; a task still running then is abandoned with the runtime.
const TASKS_GRACE: Duration = Duration::from_secs(3);

/// Requests of one module pair under one child profile share an instance
/// and a queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Lane {
    pub source: String,
    pub target: String,
    pub profile: ChildProfile,
}

impl Lane {
    pub fn of(q: &Query) -> Lane {
        Lane {
            source: q.source.clone(),
            target: q.target.clone(),
            profile: q.profile.clone(),
        }
    }
}

/// What a queued request is given: an instance, or the reason none will come.
pub(super) type Grant = Result<Arc<Instance>, InstanceError>;

#[derive(Default)]
pub(super) struct PoolState {
    pub instances: BTreeMap<String, Arc<Instance>>,
    /// MCP backend: the instance each lane sticks to.
    pub affinity: HashMap<Lane, String>,
    /// MCP backend: requests waiting for room, FIFO per lane.
    pub queues: HashMap<Lane, VecDeque<oneshot::Sender<Grant>>>,
    /// Lanes with waiters, in the order they are next served.
    pub turn_order: VecDeque<Lane>,
    /// Stream backend: the instance of each conversation.
    pub by_conversation: HashMap<String, String>,
    /// Stream backend: the standby instance of each module folder and
    /// profile, ready for the next new conversation there.
    pub standby: HashMap<super::standby_key::StandbyKey, String>,
    /// Stream backend: when each module folder and profile was last used.
    pub recent: HashMap<super::standby_key::StandbyKey, std::time::Instant>,
}

pub(super) struct Shared {
    pub config: InstancesConfig,
    pub state: Mutex<PoolState>,
    pub shutdown: CancellationToken,
    /// Every task the manager starts, so shutdown can wait for them.
    pub tasks: TaskTracker,
    /// Child exits and start failures, for the supervisor.
    pub supervisor: mpsc::UnboundedSender<SupervisorEvent>,
    next_id: AtomicU64,
    prefix: String,
    /// Where instance event journals go (for `instances monitor`), if anywhere.
    pub event_dir: Option<std::path::PathBuf>,
    /// Values that never appear in stored or shown stderr.
    pub redactor: Arc<crate::redact::Redactor>,
    /// What warm and standby stream processes may hold together (KiB).
    pub warm_budget_kib: u64,
}

/// Cheap to clone; every clone drives the same children. Background tasks
/// hold a [`WeakManager`], so they never keep the manager alive.
#[derive(Clone)]
pub struct InstanceManager {
    pub(super) shared: Arc<Shared>,
}

/// A manager as seen by its own background tasks.
#[derive(Clone)]
pub(super) struct WeakManager(Weak<Shared>);

impl WeakManager {
    pub fn upgrade(&self) -> Option<InstanceManager> {
        self.0.upgrade().map(|shared| InstanceManager { shared })
    }
}

impl InstanceManager {
    /// Creates the manager and starts its supervisor. Children start on
    /// first use unless `pool_min` > 0.
    pub fn new(config: InstancesConfig) -> InstanceManager {
        InstanceManager::with_event_dir(config, None)
    }

    /// Like [`InstanceManager::new`], and every instance journals its events
    /// (state changes, stderr, requests) to `<event_dir>/<id>.jsonl`.
    pub fn with_event_dir(
        config: InstancesConfig,
        event_dir: Option<std::path::PathBuf>,
    ) -> InstanceManager {
        InstanceManager::build(config, event_dir, ChildProfile::default())
    }

    /// The full constructor: `base_profile` is what children pre-started for
    /// `pool_min` are started with (the hop context of this process).
    pub fn build(
        config: InstancesConfig,
        event_dir: Option<std::path::PathBuf>,
        base_profile: ChildProfile,
    ) -> InstanceManager {
        let prefix = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let redactor = Arc::new(crate::redact::Redactor::for_children(
            config
                .claude_code_mcp
                .env
                .iter()
                .chain(config.claude_stream.env.iter()),
        ));
        let warm_budget_kib = super::memory::warm_budget_kib(config.max_warm_memory_mb);
        let manager = InstanceManager {
            shared: Arc::new(Shared {
                warm_budget_kib,
                config,
                state: Mutex::new(PoolState::default()),
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
                supervisor: events_tx,
                next_id: AtomicU64::new(1),
                prefix,
                event_dir,
                redactor,
            }),
        };
        let tasks = manager.shared.tasks.clone();
        tasks.spawn(supervisor::run(
            manager.downgrade(),
            events_rx,
            manager.shared.shutdown.clone(),
        ));
        for _ in 0..manager.shared.config.claude_code_mcp.pool_min {
            let instance =
                manager.new_instance(BackendKind::ClaudeCodeMcp, None, None, base_profile.clone());
            let weak = manager.downgrade();
            tasks.spawn(async move {
                if let Some(m) = weak.upgrade() {
                    let _ = m.ensure_mcp_child(&instance).await;
                }
            });
        }
        manager
    }

    pub(super) fn downgrade(&self) -> WeakManager {
        WeakManager(Arc::downgrade(&self.shared))
    }

    pub fn config(&self) -> &InstancesConfig {
        &self.shared.config
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a task that shutdown waits for.
    pub(super) fn spawn_task<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.shared.tasks.spawn(task);
    }

    /// Tells the supervisor something happened to an instance.
    pub(super) fn tell_supervisor(&self, event: SupervisorEvent) {
        // The supervisor only stops at shutdown, when nothing needs it.
        let _ = self.shared.supervisor.send(event);
    }

    /// The one place instance ids are minted: `<backend>-<process>-<n>`.
    fn mint_id(&self, backend: BackendKind) -> String {
        let n = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let kind = match backend {
            BackendKind::ClaudeCodeMcp => "mcp",
            BackendKind::ClaudeStream => "stream",
        };
        format!("{kind}-{}-{n}", self.shared.prefix)
    }

    /// Creates an instance (no child yet) and records it.
    pub(super) fn new_instance(
        &self,
        backend: BackendKind,
        module: Option<String>,
        conversation: Option<String>,
        profile: ChildProfile,
    ) -> Arc<Instance> {
        let mut state = self.state();
        self.new_instance_locked(&mut state, backend, module, conversation, profile, None)
    }

    /// [`InstanceManager::new_instance`] for a caller that holds the state lock.
    pub(super) fn new_instance_locked(
        &self,
        state: &mut PoolState,
        backend: BackendKind,
        module: Option<String>,
        conversation: Option<String>,
        profile: ChildProfile,
        name: Option<String>,
    ) -> Arc<Instance> {
        let id = self.mint_id(backend);
        let instance = Instance::new(
            super::instance::InstanceSpec {
                id: id.clone(),
                backend,
                module,
                conversation_id: conversation.clone(),
                name,
                profile,
            },
            self.shared.event_dir.as_deref(),
            self.shared.redactor.clone(),
        );
        state.instances.insert(id.clone(), instance.clone());
        if let Some(c) = conversation {
            state.by_conversation.insert(c, id);
        }
        instance
    }

    /// Runs one query on the backend it names, within its deadline (which
    /// covers queueing, a child's start and the answer).
    pub async fn query(&self, query: Query) -> Result<Answer, InstanceError> {
        if self.shared.shutdown.is_cancelled() {
            return Err(InstanceError::Unavailable(
                "the server is shutting down".into(),
            ));
        }
        match query.backend {
            BackendKind::ClaudeCodeMcp => self.query_mcp(query).await,
            BackendKind::ClaudeStream => self.query_stream(query).await,
        }
    }

    /// The one "stop this instance's child" sequence: marks the stop as
    /// wanted (so it is not taken for a crash), ends the child's process
    /// tree, and leaves the instance `stopped`.
    pub(super) async fn stop_child(&self, instance: &Arc<Instance>) {
        instance.book().stopping_on_purpose = true;
        match instance.backend {
            BackendKind::ClaudeCodeMcp => {
                let child = instance.mcp.write().await.take();
                if let Some(child) = child {
                    stop_shared_child(child).await;
                }
            }
            BackendKind::ClaudeStream => {
                let child = instance.stream.lock().await.take();
                if let Some(child) = child {
                    child.stop().await;
                }
            }
        }
        instance.book().pid = None;
        instance.set_state(InstanceState::Stopped);
    }

    /// Stops every child (and its process tree), fails queued requests,
    /// and waits (bounded) for the manager's tasks to end.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        let instances: Vec<Arc<Instance>> = {
            let mut state = self.state();
            state.queues.clear();
            state.turn_order.clear();
            state.instances.values().cloned().collect()
        };
        for instance in instances {
            if instance.backend == BackendKind::ClaudeStream && instance.stream.try_lock().is_err()
            {
                // A turn holds the process: end its group directly; the
                // turn then fails and releases it.
                instance.book().stopping_on_purpose = true;
                if let Some(pid) = instance.book().pid {
                    super::process::kill_group(pid, nix::sys::signal::Signal::SIGKILL);
                }
                instance.set_state(InstanceState::Stopped);
                continue;
            }
            self.stop_child(&instance).await;
        }
        self.shared.tasks.close();
        if tokio::time::timeout(TASKS_GRACE, self.shared.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "some instance tasks did not end within {}s of shutdown",
                TASKS_GRACE.as_secs()
            );
        }
    }
}

/// Stops an MCP child that calls may still hold: their futures see the
/// transport close and fail with a clear error.
async fn stop_shared_child(child: Arc<McpChild>) {
    match Arc::try_unwrap(child) {
        Ok(child) => child.stop().await,
        Err(shared) => {
            shared.process.stop().await;
        }
    }
}

impl supervisor::Supervised for InstanceManager {
    fn config(&self) -> &InstancesConfig {
        &self.shared.config
    }

    fn instances(&self) -> Vec<Arc<Instance>> {
        self.state().instances.values().cloned().collect()
    }

    fn contains(&self, instance_id: &str) -> bool {
        self.state().instances.contains_key(instance_id)
    }

    fn is_shutting_down(&self) -> bool {
        self.shared.shutdown.is_cancelled()
    }

    fn pump(&self) {
        InstanceManager::pump(self)
    }

    async fn stop_child(&self, instance: &Arc<Instance>) {
        InstanceManager::stop_child(self, instance).await
    }

    fn restart(&self, instance: Arc<Instance>) -> tokio::task::JoinHandle<()> {
        let manager = self.clone();
        self.shared.tasks.spawn(async move {
            instance.log.event("state", "restarting".into());
            let _ = manager.ensure_mcp_child(&instance).await;
        })
    }

    fn spawn(
        &self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.shared.tasks.spawn(task)
    }
}

impl supervisor::WeakPool for WeakManager {
    type Pool = InstanceManager;

    fn upgrade(&self) -> Option<InstanceManager> {
        WeakManager::upgrade(self)
    }
}
