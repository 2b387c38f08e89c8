//! `modules register FILE [--name NAME] [--path DIR]` (and the seed's
//! `register-module`): validates a descriptor file and saves it in the
//! user's descriptor folder.

use std::path::{Path, PathBuf};

use crate::cli::output::Output;
use crate::descriptor::{RegisterFrom, parse_descriptor, parse_value};
use crate::hub::Hub;

pub async fn run(
    hub: &Hub,
    file: &Path,
    name: Option<&str>,
    path: Option<&Path>,
    out: &Output,
) -> anyhow::Result<i32> {
    // With --name/--path the file may lack what they fill in: the
    // hub validates the finished descriptor.
    let read = if name.is_some() || path.is_some() {
        read_descriptor_text(file)
    } else {
        read_descriptor_value(file)
    };
    let value = match read.and_then(|v| with_name_and_path(v, name, path, file)) {
        Ok(v) => v,
        Err(e) => return out.error_exit(e),
    };
    // The operator's own file: `$VAR` and `~` are expanded with the
    // operator's environment now, relative paths are relative to it.
    let from = RegisterFrom::Operator {
        base: std::path::absolute(file)
            .ok()
            .and_then(|f| f.parent().map(PathBuf::from)),
    };
    match hub.modules().register(value, from).await {
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

/// Reads a descriptor file into a JSON value, naming the file in errors.
fn read_descriptor_value(file: &Path) -> Result<serde_json::Value, String> {
    let (shown, format, text) = super::read_descriptor_file(file)?;
    // Full validation first, so errors name this file and the field.
    parse_descriptor(&shown, &text, format).map_err(|e| e.to_string())?;
    parse_value(&shown, &text, format).map_err(|e| e.to_string())
}

/// A descriptor file's value, parsed but not yet validated.
fn read_descriptor_text(file: &Path) -> Result<serde_json::Value, String> {
    let (shown, format, text) = super::read_descriptor_file(file)?;
    parse_value(&shown, &text, format).map_err(|e| e.to_string())
}

/// The seed's `register-module NAME --path DIR --desc FILE`: the name must
/// match the descriptor's (or fills it in), the folder replaces its `path`.
fn with_name_and_path(
    mut value: serde_json::Value,
    name: Option<&str>,
    path: Option<&Path>,
    file: &Path,
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
