//! `claude-comms monitor`: the operator's live view of every instance on
//! this data dir, the followed instance's output and the newest messages.
//!
//! * [`app`]: the state and what each key does (no terminal);
//! * [`draw`]: one pure function per pane, tested with ratatui's `TestBackend`;
//! * [`data`]: what a refresh reads through the hub;
//! * `terminal`: the full-screen event loop; `plain`: lines for a pipe.

pub mod app;
pub mod data;
pub mod draw;
mod plain;
mod terminal;

use std::io::IsTerminal;
use std::sync::Arc;

use super::output::Output;
use crate::hub::Hub;

/// Full screen on a terminal; otherwise (a pipe, a file) plain lines, so
/// `claude-comms monitor | grep` works (`--json`: a JSON object per line).
pub async fn run(hub: Arc<Hub>, out: &Output) -> anyhow::Result<i32> {
    if std::io::stdout().is_terminal() && !out.json {
        terminal::run(hub).await
    } else {
        plain::run(&hub, out).await
    }
}

pub use plain::{instance_line, message_line};

#[cfg(test)]
mod tests;
