//! The one library API that both the MCP server and the CLI call. Every
//! operation a host or an operator can ask for is a method here, so the two
//! front ends never drift apart.

mod a2a_agents;
pub mod ask_back;
mod budgets;
mod cleanup;
mod console_queries;
mod conversations;
pub mod daemon_ops;
mod doctor;
mod doctor_check;
pub(crate) mod doctor_env;
pub(crate) mod error;
pub mod fleet;
mod history;
mod instance_control;
mod instances;
mod jobs;
mod journal;
mod liveness;
mod messaging;
mod modules;
mod notices;
mod outcome;
mod profile;
mod remote;
mod reuse;
mod send_types;
mod sending;
mod services;
mod stats;
mod store_copy;
mod store_status;
mod tokens;

use std::sync::Arc;

use crate::config::LoadedConfig;
use crate::context::ContextEngine;
use crate::instances::InstanceManager;
use crate::store::Store;

pub use console_queries::BudgetUse;
pub use conversations::{ConversationTranscript, FOLLOW_POLL, SearchResults};
pub use doctor_check::{Check, CheckStatus};
pub use doctor_env::find_program;
pub use error::{Argument, HubError, Thing};
pub use instance_control::{CONTROL_POLL, ControlAction, InstanceRow};
pub use instances::{StartInstance, parse_pair};
pub use jobs::{JobDetail, JobStatus, MAX_WAIT};
pub use journal::{JOURNAL_POLL, JournalFollower};
pub use liveness::{HEARTBEAT_EVERY, STALE_AFTER};

// The data types the faces (MCP, CLI) need, so they depend on the hub only.
pub use crate::host::this_hostname;
pub use crate::instances::{
    InstanceError, InstanceEvent, InstanceState, InstanceStatus, PROGRESS_EVERY, Progress,
    ProgressSink,
};
pub use crate::store::limits::{DEFAULT_HITS, DEFAULT_PAGE_SIZE};
pub use crate::store::tool_use_line;
pub use crate::store::{
    AskBack, AskBackState, Conversation, ConversationFilter, ConversationPage, ConversationStatus,
    ExportFormat, InstanceRecord, Message, MessageActivity, MessageCursor, MessageStatus,
    OutcomeRow, PruneRule, Role, TokenRecord,
};
/// What [`Maintenance::copy_store`](crate::hub::Maintenance::copy_store) reports, as the store words it.
pub use crate::store::{CopyCounts, CopyError, CopyProgress, CopyReport};
pub use messaging::{NewConversationRequest, SendOutcome, SendRequest};
pub use modules::{
    ConsumerList, ModuleDetails, ModuleList, ModuleSummary, RegisterOutcome, origin_name,
};
pub use reuse::Reuse;
pub use services::{Conversations, Instances, Jobs, Maintenance, Messaging, Modules, Node, Tokens};
pub use stats::{PairStats, StatsReport, parse_since};
pub use store_status::StoreStatus;
pub use tokens::{AuthError, Caller, CreatedToken, TOKEN_PREFIX, TokenRequest, bearer_token};

/// How long shutdown waits for background tasks after cancelling them.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

pub struct Hub {
    config: LoadedConfig,
    registry: Arc<modules::SharedRegistry>,
    /// The module the host of this process works in (`serve --module`).
    default_module: Option<String>,
    instances: InstanceManager,
    store: Store,
    context: ContextEngine,
    /// This process's id in the database (owner of the queries it sends).
    server_id: String,
    /// Woken on every write of this process, so followers see it at once.
    local_writes: tokio::sync::Notify,
    /// Cancelled by [`Hub::shutdown`]; background tasks end with it.
    stopping: tokio_util::sync::CancellationToken,
    /// Every background task of the hub and its faces, so shutdown waits
    /// for them (bounded) instead of leaving them to the runtime.
    tasks: tokio_util::task::TaskTracker,
    /// The [`Jobs`] service's state: the jobs this process carries.
    jobs_state: jobs::JobsState,
    /// The [`Node`] service's state: registration and heartbeat.
    node_state: liveness::NodeState,
    /// The daemon that carries this process's work, if the policy uses one.
    remote: Option<remote::RemoteHub>,
    /// Child profiles built so far (see `hub/profile.rs`).
    profiles: std::sync::Mutex<profile::ProfileCache>,
    /// The recent history of conversations this process sends in.
    history: history::HistoryCache,
    /// The [`Tokens`] service's state: when each token's use was recorded.
    tokens_state: tokens::TokensState,
    /// The git state of module folders, cached (see `crate::workspace`).
    folder_states: Arc<crate::workspace::FolderStates>,
    /// This process's instances that another node watches (see
    /// `fleet/watch.rs`).
    watches: fleet::Watches,
    /// Ask-back waiters' wake-ups (see `ask_back/wake.rs`).
    ask_wake: ask_back::wake::HubWake,
    /// This hub, for the services' work that outlives a call (see
    /// [`Hub::arc`]).
    me: std::sync::Weak<Hub>,
}

impl Hub {
    /// Loads the descriptors, opens the database and the context templates.
    /// Child processes start only when a message needs them.
    pub fn open(
        config: LoadedConfig,
        default_module: Option<String>,
    ) -> Result<Arc<Hub>, HubError> {
        Hub::open_with(config, default_module, false)
    }

    /// A hub that follows the config's `hub` policy: with a daemon (`auto`,
    /// or a socket) the work that needs children goes to the daemon, which
    /// is reached (and under `auto` started) on first use; `embedded` is
    /// [`Hub::open`]. What faces open (`serve`, the CLI, the Communicator).
    pub fn open_routed(
        config: LoadedConfig,
        default_module: Option<String>,
    ) -> Result<Arc<Hub>, HubError> {
        let policy = crate::config::daemon::HubPolicy::parse(&config.config.hub)
            .map_err(HubError::BadRequest)?;
        Hub::open_with(
            config,
            default_module,
            policy != crate::config::daemon::HubPolicy::Embedded,
        )
    }

    fn open_with(
        mut config: LoadedConfig,
        default_module: Option<String>,
        routed: bool,
    ) -> Result<Arc<Hub>, HubError> {
        let remote = routed.then(|| remote::RemoteHub::new(config.clone()));
        if routed {
            // Children are the daemon's: never pre-start any here.
            config.config.instances.claude_code_mcp.pool_min = 0;
        }
        let registry = modules::SharedRegistry::load(config.descriptor_sources());
        if let Some(m) = &default_module
            && registry.snapshot().get(m).is_err()
        {
            tracing::warn!(module = %m, "the default module is not a known module");
        }
        let mut location = config.store_location();
        if routed && let crate::config::store::StoreLocation::Postgres(_, options) = &mut location {
            // Work goes to the daemon: connect only if this process reads
            // the store itself (see `PgOptions::lazy`).
            options.lazy = true;
        }
        let store = Store::open_location(&location, config.config.database_sync)?;
        let template_dir = config.paths.template_dir();
        let context = if template_dir.is_dir() {
            ContextEngine::with_overrides(&config.config.context, &template_dir)?
        } else {
            ContextEngine::new(&config.config.context)
        };
        let instances = InstanceManager::with_event_dir(
            config.config.instances.clone(),
            Some(config.paths.data_dir.join("instances")),
        );
        Ok(Arc::new_cyclic(|me| Hub {
            me: me.clone(),
            config,
            registry,
            default_module,
            instances,
            store,
            context,
            server_id: uuid::Uuid::new_v4().to_string(),
            local_writes: tokio::sync::Notify::new(),
            stopping: tokio_util::sync::CancellationToken::new(),
            tasks: tokio_util::task::TaskTracker::new(),
            jobs_state: Default::default(),
            node_state: Default::default(),
            history: history::HistoryCache::default(),
            tokens_state: Default::default(),
            folder_states: Default::default(),
            watches: Default::default(),
            ask_wake: Default::default(),
            remote,
            profiles: std::sync::Mutex::default(),
        }))
    }

    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    pub fn context(&self) -> &ContextEngine {
        &self.context
    }

    /// The store's fault seam, for tests that make writes fail (see
    /// [`crate::store::WriteFault`]).
    #[doc(hidden)]
    pub fn store_faults(&self) -> &crate::store::WriteFaults {
        self.store.faults()
    }

    fn messages_changed(&self) {
        self.local_writes.notify_waiters();
    }

    pub fn config(&self) -> &LoadedConfig {
        &self.config
    }

    /// The instance pool; faces go through the [`Instances`] service.
    pub(crate) fn instance_pool(&self) -> &InstanceManager {
        &self.instances
    }

    /// Starts a background task that runs until it ends or the hub shuts
    /// down, whichever comes first; shutdown waits for it.
    pub fn spawn_until_shutdown<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let stopping = self.stopping.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = stopping.cancelled() => {}
                _ = task => {}
            }
        });
    }

    /// Starts a job's task: shutdown waits for it (bounded) so its outcome
    /// is recorded, as interrupted if the children were stopped under it.
    pub(crate) fn spawn_job<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }

    /// Whether nothing is going on: no job carried, no instance busy.
    pub fn is_idle(&self) -> bool {
        self.jobs().in_flight().is_empty()
            && self
                .instances
                .list()
                .iter()
                .all(|i| i.in_flight == 0 && i.queued == 0)
    }

    /// True once shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// Stops every child process and background task; called when the
    /// server (or command) ends. Safe to call more than once.
    pub async fn shutdown(&self) {
        self.stopping.cancel();
        if let Some(remote) = &self.remote {
            remote.close().await;
        }
        self.instances.shutdown().await;
        self.ask_wake.close();
        self.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "some background tasks did not end within {}s of shutdown",
                SHUTDOWN_GRACE.as_secs()
            );
        }
        if !self.node_state.is_announced() {
            return;
        }
        if let Err(e) = self.store.unregister_server(&self.server_id).await {
            tracing::warn!(error = %e, "could not mark this server stopped in the database");
        }
    }

    /// Whether a daemon carries this process's work (`hub` policy).
    pub fn is_routed(&self) -> bool {
        self.remote.is_some()
    }

    /// Whether this process is registered in the database yet.
    pub fn is_announced(&self) -> bool {
        self.node_state.is_announced()
    }

    pub fn default_module(&self) -> Option<&str> {
        self.default_module.as_deref()
    }
}
