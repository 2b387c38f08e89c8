//! The registry: every known module, queries over them, and registering or
//! removing user descriptors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::files::{SourcesState, bump_generation, write_atomically};
use super::folder::{PathTrust, check_client_path, resolve, unsafe_folder};
use super::load::{
    DescriptorSources, LoadReport, LoadedDescriptor, Origin, load_all, relationship_warnings,
};
use super::model::{ModuleDescriptor, RelationshipKind};
use super::validate::{DescriptorError, Format, parse_descriptor, validate_value};

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

/// Who is registering a descriptor, which decides what its `path` may be.
#[derive(Debug, Clone)]
pub enum RegisterFrom {
    /// An MCP client: `path` must be absolute (or `~/…`), literal (no `$`)
    /// and not the root, a system folder or the home folder.
    Client,
    /// The operator (`claude-comms modules register FILE`): `path` is
    /// resolved now with the operator's environment, relative to `base` (the
    /// file's folder), and saved as an absolute folder.
    Operator { base: Option<PathBuf> },
}

/// Every known module as loaded at one moment. A register or remove makes a
/// new `Registry` rather than changing this one, so readers holding it never
/// see a half-made update.
#[derive(Debug)]
pub struct Registry {
    sources: DescriptorSources,
    modules: BTreeMap<String, LoadedDescriptor>,
    report: LoadReport,
    /// The folders' state read just before loading them.
    state: SourcesState,
}

impl Registry {
    pub fn load(sources: DescriptorSources) -> Registry {
        // Read before loading: a change made while loading shows as stale.
        let state = SourcesState::read(&sources.user_dir, &sources.watched_dirs());
        let (modules, report) = load_all(&sources);
        Registry {
            sources,
            modules,
            report,
            state,
        }
    }

    /// Whether the descriptor folders are as they were when this was
    /// loaded (no register, remove or file added by any process since).
    /// Cheap: one small read and one `stat` per folder.
    pub fn is_current(&self) -> bool {
        SourcesState::read(&self.sources.user_dir, &self.sources.watched_dirs()) == self.state
    }

    /// Every source read again.
    pub fn reloaded(&self) -> Registry {
        Registry::load(self.sources.clone())
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
    /// Returns what was done and the registry as it now is. The file is
    /// checked by the loader's own parser before it replaces anything, so a
    /// registered module never vanishes at the next load.
    pub fn register(
        &self,
        value: &serde_json::Value,
        from: &RegisterFrom,
    ) -> Result<(Registered, Registry), RegistryError> {
        let mut descriptor = validate_value("descriptor", value)?;
        let mut warnings = Vec::new();
        if let Some(raw) = descriptor.path.clone() {
            let path_problem = |message: String| {
                RegistryError::Invalid(DescriptorError::single("descriptor", "path", message))
            };
            match from {
                RegisterFrom::Client => check_client_path(&raw).map_err(path_problem)?,
                RegisterFrom::Operator { base } => {
                    let folder = resolve(&raw, PathTrust::Operator, base.as_deref())
                        .map_err(path_problem)?;
                    if let Some(why) = unsafe_folder(&folder) {
                        warnings.push(format!(
                            "{}: path: {} is {why}; its agent can read and change everything there",
                            descriptor.name,
                            folder.display()
                        ));
                    }
                    descriptor.path = Some(folder.display().to_string());
                }
            }
        }
        let name = descriptor.name.clone();
        let previous = self.modules.get(&name).cloned();
        // Overwrite the user's own file for this module if there is one, so a
        // module never ends up defined twice in the user folder.
        let path: PathBuf = match &previous {
            Some(p) if p.origin == Origin::User => PathBuf::from(&p.file),
            _ => self.free_user_file(&name),
        };
        let file = path.display().to_string();
        let text = loadable_text(&path, &descriptor)?;
        let io = |source| RegistryError::Io {
            path: file.clone(),
            source,
        };
        write_atomically(&path, text.as_bytes()).map_err(io)?;
        bump_generation(&self.sources.user_dir).map_err(|source| RegistryError::Io {
            path: self.sources.user_dir.display().to_string(),
            source,
        })?;
        let now = self.reloaded();
        warnings.extend(
            now.report
                .warnings
                .iter()
                .filter(|w| w.starts_with(&file))
                .cloned(),
        );
        // An extra folder loads after the user folder and would still win.
        if let Ok(winner) = now.get(&name)
            && winner.file != file
        {
            tracing::warn!(module = %name, winner = %winner.file, "registered descriptor is overridden by an extra folder");
            warnings.push(format!(
                "{name}: {} (an extra descriptor folder) defines it too and wins over {file}",
                winner.file
            ));
        }
        let registered = Registered {
            name,
            file,
            replaced_file: previous.map(|p| p.file),
            warnings,
        };
        Ok((registered, now))
    }

    /// `<name>.yaml` in the user folder, unless a hand-placed file of that
    /// name defines another module: then `<name>.2.yaml`, and so on.
    fn free_user_file(&self, name: &str) -> PathBuf {
        let taken = |path: &Path| {
            let shown = path.display().to_string();
            self.modules
                .values()
                .any(|m| m.origin == Origin::User && m.file == shown)
        };
        let mut path = self.sources.user_dir.join(format!("{name}.yaml"));
        let mut n = 2;
        while taken(&path) {
            path = self.sources.user_dir.join(format!("{name}.{n}.yaml"));
            n += 1;
        }
        path
    }

    /// Removes a user-registered descriptor (a shipped one it overrode comes
    /// back). Returns the removed definition and the registry as it now is.
    pub fn remove(&self, name: &str) -> Result<(LoadedDescriptor, Registry), RegistryError> {
        let loaded = self.get(name)?.clone();
        match loaded.origin {
            Origin::Builtin => {
                return Err(RegistryError::Builtin {
                    name: name.to_string(),
                });
            }
            Origin::Extra | Origin::Fleet => {
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
        bump_generation(&self.sources.user_dir).map_err(|source| RegistryError::Io {
            path: self.sources.user_dir.display().to_string(),
            source,
        })?;
        Ok((loaded, self.reloaded()))
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

/// The text `register` writes, in the format the file name implies, after
/// the loader's own parser has read it back to the same descriptor (limits
/// included): what is written is exactly what will load.
fn loadable_text(path: &Path, d: &ModuleDescriptor) -> Result<String, RegistryError> {
    let shown = path.display().to_string();
    let format = Format::from_file_name(&shown).unwrap_or(Format::Yaml);
    let text = match format {
        Format::Yaml => serde_saphyr::to_string(d).map_err(|e| e.to_string()),
        Format::Json => serde_json::to_string_pretty(d).map_err(|e| e.to_string()),
    }
    .map_err(|e| {
        RegistryError::Invalid(DescriptorError::single(
            "descriptor",
            "",
            format!("cannot be written as {shown}: {e}"),
        ))
    })?;
    // Problems name the argument (`descriptor`), not a file the client never saw.
    let read_back = parse_descriptor("descriptor", &text, format)?;
    if read_back != *d {
        return Err(RegistryError::Invalid(DescriptorError::single(
            "descriptor",
            "",
            format!("would not read back the same from {shown}; nothing was written"),
        )));
    }
    Ok(text)
}
