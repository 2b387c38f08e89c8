//! How `conversations show` and `listen` print a message and its tool uses.

use crate::cli::output::Output;
use crate::cli::when;
use crate::hub::Message;

/// A reply's tool uses, one a line (`--tools`), or how many there were.
pub(super) fn print_tool_uses(out: &Output, m: &Message, all: bool) -> anyhow::Result<()> {
    if m.tool_uses.is_empty() {
        return Ok(());
    }
    if all {
        out.line("tool uses:")?;
        for used in &m.tool_uses {
            out.line(format!("  {}", crate::hub::tool_use_line(used)))?;
        }
        return Ok(());
    }
    let refused = m
        .tool_uses
        .iter()
        .filter(|u| u.outcome == crate::policy::ToolOutcome::Refused)
        .count();
    out.line(format!(
        "({} tool use(s), {refused} refused by the module's policy; --tools lists them)",
        m.tool_uses.len()
    ))
}

/// A message under a header line: its number, sender, time, role, status
/// and how long the answer took.
pub(super) fn print_message(out: &Output, m: &Message) -> anyhow::Result<()> {
    let took = m
        .duration_ms
        .map(|d| format!(", {}", when::duration_ms(d)))
        .unwrap_or_default();
    out.line(format!(
        "\n#{} {} at {} ({}, {}{took}):",
        m.seq,
        m.sender,
        when::clock(m.created_at),
        m.role.as_str(),
        m.status.as_str()
    ))?;
    out.line(m.content.trim_end())
}
