//! `claude-comms modules init [PATH] [--name NAME]`: drafts a descriptor from
//! what is in a module's folder (see [`crate::descriptor::init`]), checks it
//! against the descriptor schema, registers it with the folder as its path
//! (as `modules register` does) and prints what it wrote and what to edit.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::draft::{DraftOptions, propose};
use crate::cli::output::Output;
use crate::descriptor::init::{Drafted, draft_from_folder};
use crate::descriptor::{Format, RegisterFrom, parse_descriptor};
use crate::hub::{Hub, RegisterOutcome};

pub async fn run(
    hub: &std::sync::Arc<Hub>,
    path: Option<&Path>,
    name: Option<&str>,
    draft: Option<DraftOptions<'_>>,
    out: &Output,
) -> anyhow::Result<i32> {
    let folder = match module_folder(path) {
        Ok(folder) => folder,
        Err(e) => return out.error_exit(e),
    };
    let drafted = match draft_from_folder(&folder, name) {
        Ok(drafted) => drafted,
        Err(e) => return out.error_exit(e),
    };
    let yaml = serde_saphyr::to_string(&drafted.descriptor)?;
    // The schema's own check, before anything is written.
    let shown = format!(
        "{}.yaml (drafted from {})",
        drafted.descriptor.name,
        folder.display()
    );
    if let Err(e) = parse_descriptor(&shown, &yaml, Format::Yaml) {
        return out.error_exit(e);
    }
    let value = serde_json::to_value(&drafted.descriptor)?;
    let from = RegisterFrom::Operator {
        base: Some(folder.clone()),
    };
    let outcome = match hub.modules().register(value, from.clone()).await {
        Ok(outcome) => outcome,
        Err(e) => return out.error_exit(format!("{shown}: {e}")),
    };
    if let Some(options) = draft {
        // The drafted descriptor is registered first, so the agent knows
        // its module; the proposal replaces it only when accepted.
        out.note(format!(
            "# {} drafted from the files, registered in {}",
            outcome.name, outcome.file
        ))?;
        return propose(hub, &drafted.descriptor, from, options, out).await;
    }
    print_registered(&drafted, &outcome, &yaml, out)?;
    Ok(0)
}

/// The module's folder (default: the current one), absolute.
fn module_folder(path: Option<&Path>) -> Result<PathBuf, String> {
    let given = path.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    match std::path::absolute(&given) {
        // `..` and `.` spelled out would make a poor module name and path.
        Ok(folder) if folder.is_dir() => Ok(folder.canonicalize().unwrap_or(folder)),
        Ok(_) | Err(_) => Err(format!("{}: no such folder", given.display())),
    }
}

/// What was drafted and where it was registered, and what to edit next.
fn print_registered(
    drafted: &Drafted,
    outcome: &RegisterOutcome,
    yaml: &str,
    out: &Output,
) -> anyhow::Result<()> {
    if out.json {
        return out.json(&json!({
            "name": outcome.name,
            "file": outcome.file,
            "replaced_file": outcome.replaced_file,
            "from": drafted.manifest,
            "descriptor": drafted.descriptor,
            "notes": drafted.notes,
            "warnings": outcome.warnings,
        }));
    }
    out.line(format!(
        "# {} ({}), registered in {}",
        outcome.name,
        drafted
            .manifest
            .map_or("no manifest".to_string(), |m| format!("from {m}")),
        outcome.file
    ))?;
    out.line(yaml.trim_end())?;
    if let Some(old) = &outcome.replaced_file {
        out.note(format!("it replaces {old}"))?;
    }
    for note in drafted.notes.iter().chain(&outcome.warnings) {
        out.note(format!("note: {note}"))?;
    }
    out.note(format!(
        "edit {} to add them; `claude-comms modules validate FILE` checks it",
        outcome.file
    ))
}
