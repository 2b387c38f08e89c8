//! Modules: listing, describing, registering and removing descriptors, the
//! folder each module's agent works in, and who consumes what.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hub, HubError};
use crate::descriptor::{
    Consumer, LoadReport, ModuleDescriptor, ModuleFilter, Origin, Registered, Registry,
};

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

impl Hub {
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

impl Hub {
    /// The registered module whose folder holds `dir` (the deepest, when
    /// folders nest): the asking module of a CLI query run inside it.
    pub fn module_for_folder(&self, dir: &std::path::Path) -> Option<String> {
        let dir = dir.canonicalize().ok()?;
        let registry = self.registry();
        registry
            .all()
            .filter_map(|m| {
                let folder = self
                    .module_folder_of(&m.descriptor)
                    .ok()?
                    .canonicalize()
                    .ok()?;
                dir.starts_with(&folder)
                    .then(|| (folder.components().count(), m.descriptor.name.clone()))
            })
            .max()
            .map(|(_, name)| name)
    }
}
