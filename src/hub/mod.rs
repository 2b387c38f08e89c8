//! The one library API that both the MCP server and the CLI call. Every
//! operation a host or an operator can ask for is a method here, so the two
//! front ends never drift apart.

mod conversations;
mod doctor;
mod instance_control;
mod liveness;
mod messaging;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::LoadedConfig;
use crate::context::{ContextEngine, ContextError};
use crate::descriptor::{
    Consumer, LoadReport, ModuleDescriptor, ModuleFilter, Origin, Registered, Registry,
    RegistryError,
};
use crate::instances::InstanceManager;
use crate::store::{Store, StoreError};

pub use conversations::{ConversationTranscript, FOLLOW_POLL, SearchResults};
pub use doctor::{Check, CheckStatus, find_program};
pub use instance_control::{CONTROL_POLL, ControlAction, InstanceRow};
pub use liveness::{HEARTBEAT_EVERY, STALE_AFTER};
pub use messaging::{NewConversationRequest, SendOutcome, SendRequest};

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The query was stored and dispatched but got no answer; the failure
    /// is stored too.
    #[error("{explanation}")]
    QueryFailed {
        explanation: String,
        conversation_id: String,
        message_id: String,
    },
    #[error("the database task failed: {0}")]
    Internal(String),
}

/// One line of `list_modules`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ModuleSummary {
    pub name: String,
    pub version: String,
    pub description: String,
    pub tags: Vec<String>,
    /// Names of its capabilities.
    pub capabilities: Vec<String>,
    /// Where the descriptor came from: builtin, user or extra.
    pub origin: String,
    /// The descriptor file.
    pub file: String,
}

/// The result of `list_modules`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ModuleList {
    pub modules: Vec<ModuleSummary>,
    /// Descriptor files that were skipped, each with its reasons.
    pub load_errors: Vec<String>,
    /// Problems that did not stop loading (e.g. relationships to unknown modules).
    pub warnings: Vec<String>,
    /// Definitions that replaced an earlier one of the same name.
    pub overrides: Vec<String>,
}

/// The result of `describe_module`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ModuleDetails {
    pub descriptor: ModuleDescriptor,
    pub origin: String,
    pub file: String,
    /// The folder the module's agent works in, after `~`/`$VAR` expansion and
    /// `module_paths` overrides; absent when none is configured.
    pub folder: Option<String>,
    /// Relationships other modules declare towards this one.
    pub inbound_relationships: Vec<String>,
}

/// The result of `register_module`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RegisterOutcome {
    pub name: String,
    /// Where the descriptor was written.
    pub file: String,
    /// The definition it replaced, if any.
    pub replaced_file: Option<String>,
    pub warnings: Vec<String>,
}

impl From<Registered> for RegisterOutcome {
    fn from(r: Registered) -> Self {
        RegisterOutcome {
            name: r.name,
            file: r.file,
            replaced_file: r.replaced_file,
            warnings: r.warnings,
        }
    }
}

/// The result of `find_consumers`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConsumerList {
    pub module: String,
    pub data_type: Option<String>,
    pub consumers: Vec<Consumer>,
}

pub struct Hub {
    config: LoadedConfig,
    registry: RwLock<Registry>,
    /// The module the host of this process works in (`serve --module`).
    default_module: Option<String>,
    instances: InstanceManager,
    store: Arc<Store>,
    context: ContextEngine,
    /// This process's id in the database (owner of the queries it sends).
    server_id: String,
    /// Woken on every write of this process, so followers see it at once.
    local_writes: tokio::sync::Notify,
    /// Cancelled by [`Hub::shutdown`]; background tasks end with it.
    stopping: tokio_util::sync::CancellationToken,
    /// Set once this process is registered in the database; holds the
    /// number of interrupted messages recovered then, until first asked.
    announced: tokio::sync::OnceCell<std::sync::Mutex<usize>>,
    /// When the heartbeat was last written (unix ms).
    last_beat_ms: std::sync::atomic::AtomicI64,
}

impl Hub {
    /// Loads the descriptors, opens the database and the context templates.
    /// Child processes start only when a message needs them.
    pub fn open(
        config: LoadedConfig,
        default_module: Option<String>,
    ) -> Result<Arc<Hub>, HubError> {
        let registry = Registry::load(config.descriptor_sources());
        if let Some(m) = &default_module
            && registry.get(m).is_err()
        {
            tracing::warn!(module = %m, "the default module is not a known module");
        }
        let store = Arc::new(Store::open_with(
            &config.database_path(),
            config.config.database_sync,
        )?);
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
        Ok(Arc::new(Hub {
            config,
            registry: RwLock::new(registry),
            default_module,
            instances,
            store,
            context,
            server_id: uuid::Uuid::new_v4().to_string(),
            local_writes: tokio::sync::Notify::new(),
            stopping: tokio_util::sync::CancellationToken::new(),
            announced: tokio::sync::OnceCell::new(),
            last_beat_ms: std::sync::atomic::AtomicI64::new(0),
        }))
    }

    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    pub fn context(&self) -> &ContextEngine {
        &self.context
    }

    /// Runs a store operation on the blocking pool: SQLite calls may wait
    /// for another process's write lock (busy timeout) and must not stall
    /// the async workers that carry the protocol.
    pub(crate) async fn db<T, F>(&self, op: F) -> Result<T, HubError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || op(&store))
            .await
            .map_err(|e| HubError::Internal(e.to_string()))?
            .map_err(HubError::from)
    }

    fn messages_changed(&self) {
        self.local_writes.notify_waiters();
    }

    pub fn config(&self) -> &LoadedConfig {
        &self.config
    }

    pub fn instances(&self) -> &InstanceManager {
        &self.instances
    }

    /// Stops every child process; called when the server shuts down.
    pub async fn shutdown(&self) {
        self.stopping.cancel();
        self.instances.shutdown().await;
        if !self.announced.initialized() {
            return;
        }
        let id = self.server_id.clone();
        if let Err(e) = self.db(move |s| s.unregister_server(&id)).await {
            tracing::warn!(error = %e, "could not mark this server stopped in the database");
        }
    }

    pub fn default_module(&self) -> Option<&str> {
        self.default_module.as_deref()
    }

    fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the registry half
        // updated (updates swap whole maps), so a poisoned lock is still usable.
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    fn registry_mut(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn load_report(&self) -> LoadReport {
        self.registry().report().clone()
    }

    pub fn list_modules(&self, filter: &ModuleFilter) -> ModuleList {
        let registry = self.registry();
        let report = registry.report();
        ModuleList {
            modules: registry
                .list(filter)
                .into_iter()
                .map(|m| ModuleSummary {
                    name: m.descriptor.name.clone(),
                    version: m.descriptor.version.clone(),
                    description: m.descriptor.description.clone(),
                    tags: m.descriptor.tags.clone(),
                    capabilities: m
                        .descriptor
                        .capabilities
                        .iter()
                        .map(|c| c.name.clone())
                        .collect(),
                    origin: origin_name(m.origin).to_string(),
                    file: m.file.clone(),
                })
                .collect(),
            load_errors: report.errors.iter().map(|e| e.to_string()).collect(),
            warnings: report.warnings.clone(),
            overrides: report
                .overrides
                .iter()
                .map(|o| format!("{}: {} overrides {}", o.name, o.by_file, o.replaced_file))
                .collect(),
        }
    }

    pub fn describe_module(&self, name: &str) -> Result<ModuleDetails, HubError> {
        let registry = self.registry();
        let loaded = registry.get(name)?;
        let inbound_relationships = registry
            .all()
            .filter(|m| m.descriptor.name != name)
            .flat_map(|m| {
                m.descriptor
                    .relationships
                    .iter()
                    .filter(|r| r.module == name)
                    .map(|r| format!("{} {} {}", m.descriptor.name, r.kind.as_str(), name))
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(ModuleDetails {
            descriptor: loaded.descriptor.clone(),
            origin: origin_name(loaded.origin).to_string(),
            file: loaded.file.clone(),
            folder: self
                .module_folder_of(&loaded.descriptor)
                .ok()
                .map(|p| p.display().to_string()),
            inbound_relationships,
        })
    }

    pub fn descriptor(&self, name: &str) -> Result<ModuleDescriptor, HubError> {
        Ok(self.registry().get(name)?.descriptor.clone())
    }

    /// The folder the module's agent works in.
    pub fn module_folder(&self, name: &str) -> Result<PathBuf, HubError> {
        let descriptor = self.descriptor(name)?;
        self.module_folder_of(&descriptor)
    }

    fn module_folder_of(&self, d: &ModuleDescriptor) -> Result<PathBuf, HubError> {
        let raw = self
            .config
            .config
            .module_paths
            .get(&d.name)
            .or(d.path.as_ref())
            .ok_or_else(|| {
                HubError::BadRequest(format!(
                    "module \"{}\" has no folder: set `path` in its descriptor or module_paths.{} in the config",
                    d.name, d.name
                ))
            })?;
        crate::expand::expand_path(raw)
            .map_err(|e| HubError::BadRequest(format!("module \"{}\": path: {e}", d.name)))
    }

    pub fn register_module(
        &self,
        descriptor: &serde_json::Value,
    ) -> Result<RegisterOutcome, HubError> {
        Ok(self.registry_mut().register(descriptor)?.into())
    }

    pub fn remove_module(&self, name: &str) -> Result<String, HubError> {
        Ok(self.registry_mut().remove(name)?.file)
    }

    pub fn find_consumers(
        &self,
        module: &str,
        data_type: Option<&str>,
    ) -> Result<ConsumerList, HubError> {
        Ok(ConsumerList {
            module: module.to_string(),
            data_type: data_type.map(str::to_string),
            consumers: self.registry().find_consumers(module, data_type)?,
        })
    }

    /// Declared relationships between two modules, from either side.
    pub fn relationships_between(&self, a: &str, b: &str) -> Vec<String> {
        self.registry()
            .relationships_between(a, b)
            .into_iter()
            .map(|(from, kind, description)| {
                let to = if from == a { b } else { a };
                if description.is_empty() {
                    format!("{from} {} {to}", kind.as_str())
                } else {
                    format!("{from} {} {to}: {description}", kind.as_str())
                }
            })
            .collect()
    }
}

pub fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Builtin => "builtin",
        Origin::User => "user",
        Origin::Extra => "extra",
    }
}
