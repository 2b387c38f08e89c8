//! `claude-comms modules list | show | validate | register | init | remove | consumers | schema`.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use super::output::Output;
use crate::config::LoadedConfig;
use crate::descriptor::{Format, ModuleFilter, RegisterFrom, parse_descriptor, parse_value};
use crate::hub::Hub;

#[derive(Debug, Subcommand)]
pub enum ModulesCommand {
    /// List known modules (and descriptor files that failed to load).
    List {
        /// Only modules with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only modules that offer this capability.
        #[arg(long)]
        capability: Option<String>,
        /// Only modules that produce or consume this data type.
        #[arg(long = "data-type")]
        data_type: Option<String>,
        /// Free-text search.
        #[arg(long)]
        query: Option<String>,
    },
    /// Show one module's descriptor.
    Show {
        /// The module's name.
        name: String,
    },
    /// Check descriptor files without registering them; exit 1 if any is invalid.
    Validate {
        /// Descriptor files (YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Validate a descriptor file and save it in the user's descriptor folder.
    Register {
        /// The descriptor file (YAML or JSON).
        file: PathBuf,
        /// The module's name: must match the descriptor's, or fills it in.
        #[arg(long)]
        name: Option<String>,
        /// The module's folder (where its agent works); overrides the descriptor's `path`.
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Write and register a descriptor for a module folder from what is there
    /// (name and version from Cargo.toml, package.json, pyproject.toml or
    /// go.mod; description from the README; tags from the languages found).
    Init {
        /// The module's folder (default: the current one).
        path: Option<PathBuf>,
        /// The module's name, instead of the manifest's (or the folder's).
        #[arg(long)]
        name: Option<String>,
        /// Then ask the module's own agent (read-only) to propose its
        /// capabilities, data types and relationships, shown for you to accept.
        #[arg(long)]
        draft: bool,
        /// With --draft: write the proposal without asking.
        #[arg(long, short = 'y', requires = "draft")]
        yes: bool,
        /// With --draft: more for the agent to know ("focus on the HTTP API").
        #[arg(long, requires = "draft")]
        hint: Option<String>,
    },
    /// Remove a registered descriptor from the user's folder.
    Remove {
        /// The module's name.
        name: String,
    },
    /// Modules that can consume what NAME produces.
    Consumers {
        /// The producing module's name.
        name: String,
        /// Only this one of its data types.
        #[arg(long = "data-type")]
        data_type: Option<String>,
    },
    /// Print the descriptor JSON Schema.
    Schema,
}

pub async fn run(cmd: ModulesCommand, config: LoadedConfig, out: &Output) -> anyhow::Result<i32> {
    // Commands that only read files need no registry.
    match cmd {
        ModulesCommand::Validate { files } => return validate(&files, out),
        ModulesCommand::Schema => {
            out.line(crate::descriptor::descriptor_schema_text().trim_end())?;
            return Ok(0);
        }
        _ => {}
    }
    let hub = Hub::open(config, None)?;
    match cmd {
        ModulesCommand::List {
            tag,
            capability,
            data_type,
            query,
        } => {
            let list = hub.list_modules(&ModuleFilter {
                tag,
                capability,
                data_type,
                query,
            });
            if out.json {
                out.json(&list)?;
            } else {
                let rows: Vec<Vec<String>> = list
                    .modules
                    .iter()
                    .map(|m| {
                        vec![
                            m.name.clone(),
                            m.version.clone(),
                            m.origin.clone(),
                            m.capabilities.join(","),
                            m.description.clone(),
                        ]
                    })
                    .collect();
                out.table(
                    &["NAME", "VERSION", "ORIGIN", "CAPABILITIES", "DESCRIPTION"],
                    &rows,
                )?;
                for e in &list.load_errors {
                    out.note(format!("load error: {e}"))?;
                }
                for w in &list.warnings {
                    out.note(format!("warning: {w}"))?;
                }
                for o in &list.overrides {
                    out.note(format!("override: {o}"))?;
                }
            }
            Ok(0)
        }
        ModulesCommand::Show { name } => match hub.describe_module(&name) {
            Ok(details) => {
                if out.json {
                    out.json(&details)?;
                } else {
                    let yaml = serde_saphyr::to_string(&details.descriptor)?;
                    out.line(format!(
                        "# {} ({}: {})",
                        details.descriptor.name, details.origin, details.file
                    ))?;
                    if let Some(folder) = &details.folder {
                        out.line(format!("# agent folder: {folder}"))?;
                    }
                    if let Some(e) = &details.folder_error {
                        out.note(format!("warning: {e}"))?;
                    }
                    for w in &details.warnings {
                        out.note(format!("warning: {w}"))?;
                    }
                    for r in &details.inbound_relationships {
                        out.line(format!("# inbound: {r}"))?;
                    }
                    let p = &details.policy;
                    out.line(format!(
                        "# permissions: {} ({}): {}",
                        p.policy.mode.as_str(),
                        p.policy.from,
                        p.summary
                    ))?;
                    if let Some(warning) = &p.warning {
                        out.line(format!("# warning: {warning}"))?;
                    }
                    out.line(yaml.trim_end())?;
                }
                Ok(0)
            }
            Err(e) => {
                out.note(format!("error: {e}"))?;
                Ok(1)
            }
        },
        ModulesCommand::Register { file, name, path } => {
            // With --name/--path the file may lack what they fill in: the
            // hub validates the finished descriptor.
            let read = if name.is_some() || path.is_some() {
                read_descriptor_text(&file)
            } else {
                read_descriptor_value(&file)
            };
            let value = match read
                .and_then(|v| with_name_and_path(v, name.as_deref(), path.as_deref(), &file))
            {
                Ok(v) => v,
                Err(e) => {
                    out.note(format!("error: {e}"))?;
                    return Ok(1);
                }
            };
            // The operator's own file: `$VAR` and `~` are expanded with the
            // operator's environment now, relative paths are relative to it.
            let from = RegisterFrom::Operator {
                base: std::path::absolute(&file)
                    .ok()
                    .and_then(|f| f.parent().map(PathBuf::from)),
            };
            match hub.register_module(value, from).await {
                Ok(outcome) => {
                    if out.json {
                        out.json(&outcome)?;
                    } else {
                        out.line(format!("registered {} in {}", outcome.name, outcome.file))?;
                        if let Some(old) = outcome.replaced_file {
                            out.line(format!("it replaces {old}"))?;
                        }
                        for w in outcome.warnings {
                            out.note(format!("warning: {w}"))?;
                        }
                    }
                    Ok(0)
                }
                Err(e) => {
                    // Name the file the operator gave, not the internal "descriptor".
                    let text = e
                        .to_string()
                        .replace("descriptor: ", &format!("{}: ", file.display()));
                    out.note(format!("error: {text}"))?;
                    Ok(1)
                }
            }
        }
        ModulesCommand::Init {
            path,
            name,
            draft,
            yes,
            hint,
        } => {
            let draft = draft.then_some(super::modules_draft::DraftOptions {
                yes,
                hint: hint.as_deref(),
            });
            super::modules_init::run(&hub, path.as_deref(), name.as_deref(), draft, out).await
        }
        ModulesCommand::Remove { name } => match hub.remove_module(&name).await {
            Ok(file) => {
                if out.json {
                    out.json(&json!({"removed": name, "file": file}))?;
                } else {
                    out.line(format!("removed {name} ({file})"))?;
                }
                Ok(0)
            }
            Err(e) => {
                out.note(format!("error: {e}"))?;
                Ok(1)
            }
        },
        ModulesCommand::Consumers { name, data_type } => {
            match hub.find_consumers(&name, data_type.as_deref()) {
                Ok(list) => {
                    if out.json {
                        out.json(&list)?;
                    } else {
                        let rows: Vec<Vec<String>> = list
                            .consumers
                            .iter()
                            .map(|c| {
                                vec![
                                    c.module.clone(),
                                    c.data_types.join(","),
                                    c.relationships.join("; "),
                                ]
                            })
                            .collect();
                        out.table(&["CONSUMER", "DATA TYPES", "RELATIONSHIPS"], &rows)?;
                    }
                    Ok(0)
                }
                Err(e) => {
                    out.note(format!("error: {e}"))?;
                    Ok(1)
                }
            }
        }
        ModulesCommand::Validate { .. } | ModulesCommand::Schema => unreachable!(),
    }
}

/// Reads a descriptor file into a JSON value, naming the file in errors.
fn read_descriptor_value(file: &std::path::Path) -> Result<serde_json::Value, String> {
    let shown = file.display().to_string();
    let format = Format::from_file_name(&shown)
        .ok_or_else(|| format!("{shown}: not a .yaml, .yml or .json file"))?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    // Full validation first, so errors name this file and the field.
    parse_descriptor(&shown, &text, format).map_err(|e| e.to_string())?;
    parse_value(&shown, &text, format).map_err(|e| e.to_string())
}

/// A descriptor file's value, parsed but not yet validated.
fn read_descriptor_text(file: &std::path::Path) -> Result<serde_json::Value, String> {
    let shown = file.display().to_string();
    let format = Format::from_file_name(&shown)
        .ok_or_else(|| format!("{shown}: not a .yaml, .yml or .json file"))?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    parse_value(&shown, &text, format).map_err(|e| e.to_string())
}

fn validate(files: &[PathBuf], out: &Output) -> anyhow::Result<i32> {
    let mut results = Vec::new();
    for file in files {
        let shown = file.display().to_string();
        let outcome = match Format::from_file_name(&shown) {
            None => Err(format!("{shown}: not a .yaml, .yml or .json file")),
            Some(format) => match std::fs::read_to_string(file) {
                Err(e) => Err(format!("{shown}: cannot read: {e}")),
                Ok(text) => parse_descriptor(&shown, &text, format)
                    .map(|d| d.name)
                    .map_err(|e| e.to_string()),
            },
        };
        results.push((shown, outcome));
    }
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if out.json {
        out.json(
            &results
                .iter()
                .map(|(file, r)| match r {
                    Ok(name) => json!({"file": file, "valid": true, "module": name}),
                    Err(e) => json!({"file": file, "valid": false, "errors": e.lines().collect::<Vec<_>>()}),
                })
                .collect::<Vec<_>>(),
        )?;
    } else {
        for (file, r) in &results {
            match r {
                Ok(name) => out.line(format!("ok    {file} (module {name})"))?,
                Err(e) => {
                    out.line(format!("FAIL  {file}"))?;
                    for line in e.lines() {
                        out.line(format!("      {line}"))?;
                    }
                }
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The seed's `register-module NAME --path DIR --desc FILE`: the name must
/// match the descriptor's (or fills it in), the folder replaces its `path`.
fn with_name_and_path(
    mut value: serde_json::Value,
    name: Option<&str>,
    path: Option<&std::path::Path>,
    file: &std::path::Path,
) -> Result<serde_json::Value, String> {
    let Some(object) = value.as_object_mut() else {
        return Ok(value);
    };
    if let Some(name) = name {
        match object.get("name").and_then(|n| n.as_str()) {
            Some(declared) if declared != name => {
                return Err(format!(
                    "{}: the descriptor names the module \"{declared}\", not \"{name}\"",
                    file.display()
                ));
            }
            Some(_) => {}
            None => {
                object.insert("name".into(), name.into());
            }
        }
    }
    if let Some(path) = path {
        let folder =
            std::path::absolute(path).map_err(|e| format!("--path {}: {e}", path.display()))?;
        if !folder.is_dir() {
            return Err(format!("--path {}: no such folder", folder.display()));
        }
        object.insert("path".into(), folder.display().to_string().into());
    }
    Ok(value)
}
