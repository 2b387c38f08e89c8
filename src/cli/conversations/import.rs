//! `conversations import FILE`: stores a conversation exported as json or
//! jsonl (from another machine, say).

use std::path::Path;

use crate::cli::output::Output;
use crate::hub::Hub;

pub async fn run(hub: &Hub, file: &Path, out: &Output) -> anyhow::Result<i32> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return out.error_exit(format!("cannot read {}: {e}", file.display())),
    };
    let c = match hub.conversations().import(text).await {
        Ok(c) => c,
        Err(e) => return out.hub_error_exit(&e),
    };
    if out.json {
        out.json(&c)?;
    } else {
        out.line(format!(
            "imported {} ({} asks {}, {} messages)",
            c.id, c.source, c.target, c.message_count
        ))?;
    }
    Ok(0)
}
