//! Reading descriptors from their three kinds of places, in override order:
//! the shipped ones (compiled in), the user's folder, then extra folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::ModuleDescriptor;
use super::validate::{DescriptorError, Format, parse_descriptor, parse_shipped};

/// The descriptors shipped in `descriptors/`, compiled into the binary so an
/// installed `claude-comms` has them without the source tree.
pub const BUILTIN_DESCRIPTORS: &[(&str, &str)] = &[
    (
        "descriptors/marker.yaml",
        include_str!("../../descriptors/marker.yaml"),
    ),
    (
        "descriptors/arangodb.yaml",
        include_str!("../../descriptors/arangodb.yaml"),
    ),
    (
        "descriptors/claude_mcp.yaml",
        include_str!("../../descriptors/claude_mcp.yaml"),
    ),
];

/// Where a descriptor was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Shipped with claude-comms.
    Builtin,
    /// The user's folder, where `register` writes.
    User,
    /// An extra folder from the config file or `--descriptors`.
    Extra,
    /// Registered on another node of the fleet.
    Fleet,
}

/// A descriptor together with where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct LoadedDescriptor {
    pub descriptor: ModuleDescriptor,
    pub origin: Origin,
    /// The file it was read from (`descriptors/x.yaml` for shipped ones).
    pub file: String,
}

impl LoadedDescriptor {
    /// How much of this descriptor's `path` may be expanded: everything in
    /// the operator's own files, only `~` in the user folder (where
    /// `register`, and so any MCP client, writes).
    pub fn path_trust(&self) -> super::folder::PathTrust {
        match self.origin {
            Origin::Builtin | Origin::Extra => super::folder::PathTrust::Operator,
            // Another node's copy carries no path; were one there, it
            // would get no more trust than a registered one.
            Origin::User | Origin::Fleet => super::folder::PathTrust::Registered,
        }
    }

    /// The folder a relative `path` is relative to: the descriptor file's
    /// own. Shipped descriptors have no folder on disk.
    pub fn base_dir(&self) -> Option<&Path> {
        match self.origin {
            Origin::Builtin => None,
            Origin::User | Origin::Extra | Origin::Fleet => Path::new(&self.file).parent(),
        }
    }
}

/// A later definition replacing an earlier one of the same name.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Override {
    pub name: String,
    pub replaced_file: String,
    pub by_file: String,
}

/// Everything that happened while loading, for operators and `list_modules`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    /// Files that were skipped because they are broken.
    pub errors: Vec<DescriptorError>,
    /// Things that work but look wrong (e.g. a relationship to an unknown module).
    pub warnings: Vec<String>,
    pub overrides: Vec<Override>,
}

/// The folders descriptors are read from, besides the shipped ones.
#[derive(Debug, Clone)]
pub struct DescriptorSources {
    pub user_dir: PathBuf,
    pub extra_dirs: Vec<PathBuf>,
    /// Descriptors registered on other nodes of a fleet, kept in the data
    /// dir by the node's sync (see `hub/fleet/descriptors.rs`). Read after
    /// the shipped ones and before the user's, so a module registered on
    /// this machine always wins over another node's copy.
    pub fleet_dir: Option<PathBuf>,
}

impl DescriptorSources {
    /// The folders whose changes make a loaded registry stale (besides the
    /// user folder): the extra folders and the fleet's.
    pub fn watched_dirs(&self) -> Vec<PathBuf> {
        self.extra_dirs
            .iter()
            .cloned()
            .chain(self.fleet_dir.clone())
            .collect()
    }
}

/// Loads every descriptor; broken files are reported, never fatal.
#[expect(
    clippy::expect_used,
    reason = "the shipped descriptor files are named *.yaml or *.json at build time"
)]
pub fn load_all(sources: &DescriptorSources) -> (BTreeMap<String, LoadedDescriptor>, LoadReport) {
    let mut modules = BTreeMap::new();
    let mut report = LoadReport::default();

    for (file, text) in BUILTIN_DESCRIPTORS {
        let format = Format::from_file_name(file).expect("shipped files are yaml or json");
        add(
            &mut modules,
            &mut report,
            parse_shipped(file, text, format),
            Origin::Builtin,
            file,
        );
    }
    if let Some(fleet_dir) = &sources.fleet_dir {
        load_dir(fleet_dir, Origin::Fleet, &mut modules, &mut report, false);
    }
    load_dir(
        &sources.user_dir,
        Origin::User,
        &mut modules,
        &mut report,
        false,
    );
    for dir in &sources.extra_dirs {
        load_dir(dir, Origin::Extra, &mut modules, &mut report, true);
    }
    report.warnings.extend(relationship_warnings(&modules));
    (modules, report)
}

fn load_dir(
    dir: &Path,
    origin: Origin,
    modules: &mut BTreeMap<String, LoadedDescriptor>,
    report: &mut LoadReport,
    must_exist: bool,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return,
        Err(e) => {
            report
                .warnings
                .push(format!("descriptor folder {}: {e}", dir.display()));
            return;
        }
    };
    // Sorted, so that which of two same-named files wins never depends on the file system.
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for path in files {
        let shown = path.display().to_string();
        let Some(format) = Format::from_file_name(&shown) else {
            continue;
        };
        let parsed = match std::fs::read_to_string(&path) {
            Ok(text) => parse_descriptor(&shown, &text, format),
            Err(e) => Err(DescriptorError {
                source_name: shown.clone(),
                problems: vec![super::validate::Problem {
                    path: String::new(),
                    message: format!("cannot read: {e}"),
                }],
            }),
        };
        add(modules, report, parsed, origin, &shown);
    }
}

fn add(
    modules: &mut BTreeMap<String, LoadedDescriptor>,
    report: &mut LoadReport,
    parsed: Result<ModuleDescriptor, DescriptorError>,
    origin: Origin,
    file: &str,
) {
    match parsed {
        Ok(descriptor) => {
            let name = descriptor.name.clone();
            let loaded = LoadedDescriptor {
                descriptor,
                origin,
                file: file.to_string(),
            };
            if let Some(previous) = modules.insert(name.clone(), loaded) {
                tracing::info!(module = %name, replaced = %previous.file, by = %file, "descriptor overridden");
                report.overrides.push(Override {
                    name,
                    replaced_file: previous.file,
                    by_file: file.to_string(),
                });
            }
        }
        Err(error) => {
            tracing::warn!(%error, "skipping broken descriptor");
            report.errors.push(error);
        }
    }
}

/// Relationships that point at modules nobody defined: allowed (the other
/// module may be registered later) but worth telling the operator.
pub fn relationship_warnings(modules: &BTreeMap<String, LoadedDescriptor>) -> Vec<String> {
    let mut warnings = Vec::new();
    for loaded in modules.values() {
        for (i, r) in loaded.descriptor.relationships.iter().enumerate() {
            if !modules.contains_key(&r.module) {
                warnings.push(format!(
                    "{}: relationships[{i}].module: unknown module \"{}\"",
                    loaded.file, r.module
                ));
            }
        }
    }
    warnings
}
