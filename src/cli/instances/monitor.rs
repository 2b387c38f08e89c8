//! `instances monitor ID` (and `monitor ID`): an instance's recent journal,
//! then its events as they come, until Ctrl-C.

use crate::cli::output::Output;
use crate::cli::when;
use crate::hub::{Hub, InstanceEvent};

/// Prints the last `lines` events of an instance's journal, then follows it.
pub async fn run(
    hub: &std::sync::Arc<Hub>,
    id: &str,
    lines: usize,
    out: &Output,
) -> anyhow::Result<i32> {
    let (recent, mut follower) = match hub.instances().follow_journal(id, lines).await {
        Ok(found) => found,
        Err(e) => return out.hub_error_exit(&e),
    };
    for event in &recent {
        print_event(out, event)?;
    }
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(0),
            event = follower.next() => print_event(out, &event?)?,
        }
    }
}

/// One event a line: a JSON object with `--json`, else time, kind and text.
pub(super) fn print_event(out: &Output, e: &InstanceEvent) -> anyhow::Result<()> {
    if out.json {
        out.line(serde_json::to_string(e)?)
    } else {
        out.line(format!("{} {:<7} {}", when::clock(e.at_ms), e.kind, e.text))
    }
}
