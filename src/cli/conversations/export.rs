//! `conversations export ID [--format F] [--output FILE]` (and the seed's
//! `export-conversation`, which saves `<id>.<format>`): a conversation as
//! json, jsonl or markdown.

use std::path::PathBuf;

use crate::cli::output::Output;
use crate::hub::{ExportFormat, Hub};

pub async fn run(
    hub: &Hub,
    id: &str,
    format_name: &str,
    output: Option<PathBuf>,
    save: bool,
    out: &Output,
) -> anyhow::Result<i32> {
    let format: ExportFormat = match format_name.parse() {
        Ok(f) => f,
        Err(e) => {
            out.note(format!("error: --format: {e}"))?;
            return Ok(2);
        }
    };
    let id = match hub.conversations().full_id(id).await {
        Ok(id) => id,
        Err(e) => return out.error_exit(e),
    };
    let output = match (output, save) {
        (None, true) => Some(PathBuf::from(format!("{id}.{}", extension_of(format_name)))),
        (output, _) => output,
    };
    let text = match hub.conversations().export(&id, format).await {
        Ok(text) => text,
        Err(e) => return out.hub_error_exit(&e),
    };
    match output {
        Some(path) => {
            std::fs::write(&path, &text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            if save {
                out.line(path.display().to_string())?;
            } else {
                out.note(format!("exported {id} to {}", path.display()))?;
            }
        }
        None => out.line(text.trim_end())?,
    }
    Ok(0)
}

/// The file extension of an export format.
fn extension_of(format: &str) -> &str {
    match format {
        "markdown" | "md" => "md",
        other => other,
    }
}
