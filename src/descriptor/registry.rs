//! The registry: every known module, queries over them, and registering or
//! removing user descriptors.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::load::{
    DescriptorSources, LoadReport, LoadedDescriptor, Origin, load_all, relationship_warnings,
};
use super::model::{ModuleDescriptor, RelationshipKind};
use super::validate::{DescriptorError, validate_value};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("unknown module \"{name}\" (known modules: {known})")]
    UnknownModule { name: String, known: String },
    #[error("{0}")]
    Invalid(#[from] DescriptorError),
    #[error(
        "module \"{name}\" is shipped with claude-comms and cannot be removed; register a descriptor of the same name to override it"
    )]
    Builtin { name: String },
    #[error(
        "module \"{name}\" is defined in {file}, an extra descriptor folder; remove that file instead"
    )]
    NotUserOwned { name: String, file: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Filters for listing modules; every given filter must match.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleFilter {
    /// Only modules with this tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// Only modules with a capability of this name.
    #[serde(default)]
    pub capability: Option<String>,
    /// Only modules that consume or produce this data type.
    #[serde(default)]
    pub data_type: Option<String>,
    /// Free text, matched case-insensitively against names, descriptions,
    /// tags, capabilities, data types and context.
    #[serde(default)]
    pub query: Option<String>,
}

/// A module that can take what another module produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Consumer {
    /// The consuming module.
    pub module: String,
    /// Data types the producer outputs and this module takes as input.
    pub data_types: Vec<String>,
    /// Declared relationships that link the two, e.g. `arangodb consumes_from marker`.
    pub relationships: Vec<String>,
}

/// What `register` did.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub name: String,
    pub file: String,
    /// The definition this one replaced, if any.
    pub replaced_file: Option<String>,
    pub warnings: Vec<String>,
}

pub struct Registry {
    sources: DescriptorSources,
    modules: BTreeMap<String, LoadedDescriptor>,
    report: LoadReport,
}

impl Registry {
    pub fn load(sources: DescriptorSources) -> Registry {
        let (modules, report) = load_all(&sources);
        Registry {
            sources,
            modules,
            report,
        }
    }

    /// Reads every source again (after files changed on disk).
    pub fn reload(&mut self) {
        let (modules, report) = load_all(&self.sources);
        self.modules = modules;
        self.report = report;
    }

    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    pub fn user_dir(&self) -> &std::path::Path {
        &self.sources.user_dir
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    pub fn all(&self) -> impl Iterator<Item = &LoadedDescriptor> {
        self.modules.values()
    }

    pub fn get(&self, name: &str) -> Result<&LoadedDescriptor, RegistryError> {
        self.modules
            .get(name)
            .ok_or_else(|| RegistryError::UnknownModule {
                name: name.to_string(),
                known: self.known_names(),
            })
    }

    fn known_names(&self) -> String {
        let names: Vec<&str> = self.names().collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    }

    pub fn list(&self, filter: &ModuleFilter) -> Vec<&LoadedDescriptor> {
        self.modules
            .values()
            .filter(|m| matches(&m.descriptor, filter))
            .collect()
    }

    /// Modules that can consume what `producer` produces: those whose
    /// capabilities take one of its output types, and those linked to it by a
    /// declared relationship (`producer provides_to X` or `X consumes_from producer`).
    pub fn find_consumers(
        &self,
        producer: &str,
        data_type: Option<&str>,
    ) -> Result<Vec<Consumer>, RegistryError> {
        let source = &self.get(producer)?.descriptor;
        let mut produced: Vec<&str> = source.produced_types().collect();
        produced.sort_unstable();
        produced.dedup();
        if let Some(wanted) = data_type {
            produced.retain(|t| *t == wanted);
        }
        let mut consumers = Vec::new();
        for other in self.modules.values().map(|m| &m.descriptor) {
            if other.name == source.name {
                continue;
            }
            let mut shared: Vec<String> = other
                .consumed_types()
                .filter(|t| produced.contains(t))
                .map(str::to_string)
                .collect();
            shared.sort();
            shared.dedup();
            let relationships: Vec<String> = self
                .relationships_between(&source.name, &other.name)
                .into_iter()
                .filter(|(from, kind, _)| {
                    (from == &source.name && *kind == RelationshipKind::ProvidesTo)
                        || (from == &other.name && *kind == RelationshipKind::ConsumesFrom)
                })
                .map(|(from, kind, _)| {
                    let to = if from == source.name {
                        &other.name
                    } else {
                        &source.name
                    };
                    format!("{from} {} {to}", kind.as_str())
                })
                .collect();
            // With a data-type filter only modules that take that type count.
            let linked = if data_type.is_some() {
                !shared.is_empty()
            } else {
                !shared.is_empty() || !relationships.is_empty()
            };
            if linked {
                consumers.push(Consumer {
                    module: other.name.clone(),
                    data_types: shared,
                    relationships,
                });
            }
        }
        Ok(consumers)
    }

    /// Every declared relationship between `a` and `b`, from either side, as
    /// `(declaring module, kind, description)`.
    pub fn relationships_between(
        &self,
        a: &str,
        b: &str,
    ) -> Vec<(String, RelationshipKind, String)> {
        let mut out = Vec::new();
        for (from, to) in [(a, b), (b, a)] {
            if let Some(m) = self.modules.get(from) {
                for r in m.descriptor.relationships.iter().filter(|r| r.module == to) {
                    out.push((from.to_string(), r.kind, r.description.clone()));
                }
            }
        }
        out
    }

    /// Validates a descriptor and writes it to the user folder, where it
    /// survives restarts and overrides a shipped one of the same name.
    pub fn register(&mut self, value: &serde_json::Value) -> Result<Registered, RegistryError> {
        let descriptor = validate_value("descriptor", value)?;
        let name = descriptor.name.clone();
        let previous = self.modules.get(&name).cloned();
        // Overwrite the user's own file for this module if there is one, so a
        // module never ends up defined twice in the user folder.
        let path: PathBuf = match &previous {
            Some(p) if p.origin == Origin::User => PathBuf::from(&p.file),
            _ => self.sources.user_dir.join(format!("{name}.yaml")),
        };
        write_yaml_atomically(&path, &descriptor)?;
        let file = path.display().to_string();
        self.reload();
        let warnings = self
            .report
            .warnings
            .iter()
            .filter(|w| w.starts_with(&file))
            .cloned()
            .collect();
        // An extra folder loads after the user folder and would still win.
        if let Ok(now) = self.get(&name)
            && now.file != file
        {
            tracing::warn!(module = %name, winner = %now.file, "registered descriptor is overridden by an extra folder");
        }
        Ok(Registered {
            name,
            file,
            replaced_file: previous.map(|p| p.file),
            warnings,
        })
    }

    /// Removes a user-registered descriptor (a shipped one it overrode comes back).
    pub fn remove(&mut self, name: &str) -> Result<LoadedDescriptor, RegistryError> {
        let loaded = self.get(name)?.clone();
        match loaded.origin {
            Origin::Builtin => {
                return Err(RegistryError::Builtin {
                    name: name.to_string(),
                });
            }
            Origin::Extra => {
                return Err(RegistryError::NotUserOwned {
                    name: name.to_string(),
                    file: loaded.file,
                });
            }
            Origin::User => {}
        }
        std::fs::remove_file(&loaded.file).map_err(|source| RegistryError::Io {
            path: loaded.file.clone(),
            source,
        })?;
        self.reload();
        Ok(loaded)
    }

    /// Warnings about relationships to unknown modules, recomputed now.
    pub fn relationship_warnings(&self) -> Vec<String> {
        relationship_warnings(&self.modules)
    }
}

fn matches(d: &ModuleDescriptor, f: &ModuleFilter) -> bool {
    if let Some(tag) = &f.tag
        && !d.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    {
        return false;
    }
    if let Some(cap) = &f.capability
        && !d.capabilities.iter().any(|c| c.name == *cap)
    {
        return false;
    }
    if let Some(dt) = &f.data_type
        && !d
            .consumed_types()
            .chain(d.produced_types())
            .any(|t| t == dt)
    {
        return false;
    }
    if let Some(q) = &f.query {
        let q = q.to_lowercase();
        let haystack = [
            d.name.clone(),
            d.description.clone(),
            d.context.clone(),
            d.tags.join(" "),
        ]
        .into_iter()
        .chain(
            d.capabilities
                .iter()
                .map(|c| format!("{} {} {}", c.name, c.description, c.examples.join(" "))),
        )
        .chain(
            d.data_types
                .iter()
                .map(|t| format!("{} {}", t.name, t.description)),
        );
        if !haystack.into_iter().any(|h| h.to_lowercase().contains(&q)) {
            return false;
        }
    }
    true
}

fn write_yaml_atomically(
    path: &std::path::Path,
    d: &ModuleDescriptor,
) -> Result<(), RegistryError> {
    let io = |source| RegistryError::Io {
        path: path.display().to_string(),
        source,
    };
    let text = serde_saphyr::to_string(d).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // Write then rename, so a crash never leaves half a descriptor behind.
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
