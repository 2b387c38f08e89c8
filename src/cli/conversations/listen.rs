//! `listen MODULE`: prints messages to or from a module as they land, from
//! any process sharing the database, until interrupted.

use std::time::Duration;

use super::print::print_message;
use crate::cli::output::Output;
use crate::hub::Hub;

/// Follows `module`'s messages until Ctrl-C (exit 0); 1 for a module not known.
pub async fn run(hub: &Hub, module: &str, out: &Output) -> anyhow::Result<i32> {
    if let Err(e) = hub.modules().descriptor(module) {
        return out.hub_error_exit(&e);
    }
    let mut cursor = hub.conversations().cursor().await?;
    out.note(format!(
        "listening for messages to or from {module} (Ctrl-C stops)"
    ))?;
    loop {
        let (next, messages) = tokio::select! {
            found = hub.conversations().follow(cursor, Some(module.to_string()), Duration::from_secs(30)) => found?,
            _ = tokio::signal::ctrl_c() => return Ok(0),
        };
        cursor = next;
        for m in &messages {
            if out.json {
                // One object per line, so scripts can read it as a stream.
                out.line(serde_json::to_string(m)?)?;
            } else {
                out.line(format!("[{}]", m.conversation_id))?;
                print_message(out, m)?;
                if m.role == crate::hub::Role::AskBack
                    && let Ok(asked) = hub.messaging().question_back(&m.id).await
                    && asked.state == crate::hub::AskBackState::Waiting
                {
                    out.line(format!(
                        "(waits for an answer: claude-comms jobs answer {} TEXT)",
                        asked.query_id
                    ))?;
                }
            }
        }
    }
}
