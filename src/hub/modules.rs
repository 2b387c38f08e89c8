//! Modules: listing, describing, registering and removing descriptors, the
//! folder each module's agent works in, and who consumes what.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::HubError;
use crate::descriptor::folder::{PathTrust, resolve, unsafe_folder};
use crate::descriptor::{
    Consumer, DescriptorSources, LoadReport, LoadedDescriptor, ModuleDescriptor, ModuleFilter,
    Origin, RegisterFrom, Registered, Registry,
};

/// The registry every task of this process reads: a snapshot, swapped whole
/// when the descriptor folders change (a register or remove by this or any
/// other process on the same data folder, or a file added by hand).
/// How long a check of the descriptor folders stands (see
/// [`SharedRegistry::snapshot`]).
const RECHECK_AFTER: Duration = Duration::from_millis(1);

pub(crate) struct SharedRegistry {
    current: RwLock<Arc<Registry>>,
    /// When the folders were last found unchanged (see `snapshot`).
    checked_at: Mutex<Option<Instant>>,
    /// One register or remove at a time in this process (other processes
    /// write whole files atomically; the last one wins).
    writing: Mutex<()>,
}

impl SharedRegistry {
    pub(crate) fn load(sources: DescriptorSources) -> Arc<SharedRegistry> {
        Arc::new(SharedRegistry {
            current: RwLock::new(Arc::new(Registry::load(sources))),
            checked_at: Mutex::new(None),
            writing: Mutex::new(()),
        })
    }

    /// The registry as the folders are now. The check costs one small read
    /// and a `stat` per folder; the reload happens only after a change.
    /// Checks within [`RECHECK_AFTER`] of the last one are answered by it:
    /// one question looks up descriptors six times within a tenth of a
    /// millisecond. (A change this process makes is published at once, by
    /// `update`; another process takes longer than that to register a
    /// module and tell anyone.)
    pub(crate) fn snapshot(&self) -> Arc<Registry> {
        // Updates swap whole snapshots, so a poisoned lock still holds a whole one.
        let current = self
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut checked_at = self.checked_at.lock().unwrap_or_else(|e| e.into_inner());
        if checked_at.is_some_and(|at| at.elapsed() < RECHECK_AFTER) {
            return current;
        }
        let fresh = if current.is_current() {
            current
        } else {
            let fresh = Arc::new(current.reloaded());
            self.replace(fresh.clone());
            fresh
        };
        *checked_at = Some(Instant::now());
        fresh
    }

    fn replace(&self, registry: Arc<Registry>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = registry;
    }

    /// Runs a register or remove on the blocking pool (it writes and fsyncs
    /// files, then reads every descriptor again) and publishes the result.
    async fn update<T: Send + 'static>(
        self: &Arc<Self>,
        op: impl FnOnce(&Registry) -> Result<(T, Registry), crate::descriptor::RegistryError>
        + Send
        + 'static,
    ) -> Result<T, HubError> {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || {
            let _one_at_a_time = shared.writing.lock().unwrap_or_else(|e| e.into_inner());
            let (result, now) = op(&shared.snapshot())?;
            shared.replace(Arc::new(now));
            Ok(result)
        })
        .await
        .map_err(|e| HubError::Internal(format!("the registry task failed: {e}")))?
    }
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
    /// The folder the module's agent works in, after `~` (and, in the
    /// operator's own files, `$VAR`) expansion and `module_paths` overrides;
    /// absent when none is configured.
    pub folder: Option<String>,
    /// Why the folder cannot be used, when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_error: Option<String>,
    /// Things that work but look dangerous, e.g. an agent folder that is `/`
    /// or a system folder.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Relationships other modules declare towards this one.
    pub inbound_relationships: Vec<String>,
    /// What the module's agent may do (`[permissions]` in the operator's
    /// config; never the descriptor).
    pub policy: crate::policy::PolicyView,
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

impl<'h> crate::hub::Modules<'h> {
    pub(super) fn registry(self) -> Arc<Registry> {
        self.registry.snapshot()
    }

    pub fn load_report(self) -> LoadReport {
        let registry = self.registry();
        let mut report = registry.report().clone();
        report.warnings.extend(self.folder_warnings(&registry));
        report
    }

    /// A warning for every module whose agent folder is `/`, a system folder
    /// or the home folder itself.
    fn folder_warnings(self, registry: &Registry) -> Vec<String> {
        registry
            .all()
            .filter_map(|m| self.warning_for_folder_of(m))
            .collect()
    }

    fn warning_for_folder_of(self, loaded: &LoadedDescriptor) -> Option<String> {
        let folder = self.module_folder_of(loaded).ok()?;
        let why = unsafe_folder(&folder)?;
        Some(format!(
            "module {}: its agent folder {} is {why}; the agent can read and change everything there (set module_paths.{} or its descriptor's path to the module's own folder)",
            loaded.descriptor.name,
            folder.display(),
            loaded.descriptor.name
        ))
    }

    /// The warning for a module whose agent folder is `/`, a system folder
    /// or the home folder itself (for `doctor`).
    pub fn folder_warning(self, name: &str) -> Option<String> {
        self.warning_for_folder_of(self.registry().get(name).ok()?)
    }

    pub fn list(self, filter: &ModuleFilter) -> ModuleList {
        let registry = self.registry();
        let report = registry.report();
        let mut warnings = report.warnings.clone();
        warnings.extend(self.folder_warnings(&registry));
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
            warnings,
            overrides: report
                .overrides
                .iter()
                .map(|o| format!("{}: {} overrides {}", o.name, o.by_file, o.replaced_file))
                .collect(),
        }
    }

    pub fn describe(self, name: &str) -> Result<ModuleDetails, HubError> {
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
        let folder = self.module_folder_of(loaded);
        Ok(ModuleDetails {
            descriptor: loaded.descriptor.clone(),
            origin: origin_name(loaded.origin).to_string(),
            file: loaded.file.clone(),
            folder_error: folder.as_ref().err().map(|e| e.to_string()),
            folder: folder.ok().map(|p| p.display().to_string()),
            warnings: self.warning_for_folder_of(loaded).into_iter().collect(),
            inbound_relationships,
            policy: self.modules().policy(&loaded.descriptor.name).view(),
        })
    }

    /// Whether a module is registered (a lookup, no copy: checked on every
    /// request of a remote host).
    pub fn has(self, name: &str) -> bool {
        self.registry().get(name).is_ok()
    }

    /// The names of every registered module.
    pub fn names(self) -> Vec<String> {
        self.modules()
            .list(&Default::default())
            .modules
            .into_iter()
            .map(|m| m.name)
            .collect()
    }

    pub fn descriptor(self, name: &str) -> Result<ModuleDescriptor, HubError> {
        Ok(self.registry().get(name)?.descriptor.clone())
    }

    /// The folder the module's agent works in.
    pub fn folder(self, name: &str) -> Result<PathBuf, HubError> {
        let registry = self.registry();
        self.module_folder_of(registry.get(name)?)
    }

    /// `module_paths.NAME` from the config (the operator's: `$VAR` expanded,
    /// relative to the config file's folder), else the descriptor's `path`
    /// (expanded as far as its origin allows, relative to its file's folder).
    /// Errors quote the text as written, never an expanded value.
    fn module_folder_of(self, loaded: &LoadedDescriptor) -> Result<PathBuf, HubError> {
        let d = &loaded.descriptor;
        let failed = |e: String| HubError::BadRequest(format!("module \"{}\": path: {e}", d.name));
        if let Some(raw) = self.config.config.module_paths.get(&d.name) {
            let base = self.config.paths.config_file.parent();
            return resolve(raw, PathTrust::Operator, base)
                .map_err(|e| HubError::BadRequest(format!("module_paths.{}: {e}", d.name)));
        }
        let raw = d.path.as_ref().ok_or_else(|| {
            HubError::BadRequest(format!(
                "module \"{}\" has no folder: set `path` in its descriptor or module_paths.{} in the config",
                d.name, d.name
            ))
        })?;
        resolve(raw, loaded.path_trust(), loaded.base_dir()).map_err(failed)
    }

    /// Validates a descriptor and saves it in the user folder (see
    /// [`RegisterFrom`] for what its `path` may be). The file work runs on
    /// the blocking pool; every process on the same data folder sees the
    /// module at its next read.
    pub async fn register(
        self,
        descriptor: serde_json::Value,
        from: RegisterFrom,
    ) -> Result<RegisterOutcome, HubError> {
        let mut outcome: RegisterOutcome = self
            .registry
            .update(move |registry| {
                registry
                    .register(&descriptor, &from)
                    .map(|(registered, now)| (registered.into(), now))
            })
            .await?;
        // In a fleet every node sees it (registered here, it is hosted here).
        if let Err(e) = self.share_descriptor(&outcome.name).await {
            outcome.warnings.push(format!(
                "registered here, but not shared with the fleet yet: {e}"
            ));
        }
        Ok(outcome)
    }

    /// The modules registered in this data dir's own folder.
    pub(super) fn user_registered(self) -> Vec<String> {
        self.registry()
            .all()
            .filter(|m| m.origin == Origin::User)
            .map(|m| m.descriptor.name.clone())
            .collect()
    }

    /// Removes a registered descriptor; returns the file it was in.
    pub async fn remove(self, name: &str) -> Result<String, HubError> {
        let removed_name = name.to_string();
        let file = self
            .registry
            .update(move |registry| {
                registry
                    .remove(&removed_name)
                    .map(|(removed, now)| (removed.file, now))
            })
            .await?;
        if let Err(e) = self.withdraw_descriptor(name).await {
            tracing::warn!(module = %name, error = %e, "removed here, but not withdrawn from the fleet");
        }
        Ok(file)
    }

    pub fn consumers(
        self,
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
    pub fn relationships_between(self, a: &str, b: &str) -> Vec<String> {
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
        Origin::Fleet => "fleet",
    }
}

impl<'h> crate::hub::Modules<'h> {
    /// The registered module whose folder holds `dir` (the deepest, when
    /// folders nest): the asking module of a CLI query run inside it.
    pub fn for_folder(self, dir: &std::path::Path) -> Option<String> {
        let dir = dir.canonicalize().ok()?;
        let registry = self.registry();
        registry
            .all()
            .filter_map(|m| {
                let folder = self.module_folder_of(m).ok()?.canonicalize().ok()?;
                dir.starts_with(&folder)
                    .then(|| (folder.components().count(), m.descriptor.name.clone()))
            })
            .max()
            .map(|(_, name)| name)
    }
}
