//! `conversations show ID [--limit N] [--tools]`: a conversation's
//! messages, and what each answering agent tried.

use super::print::{print_message, print_tool_uses};
use crate::cli::output::Output;
use crate::hub::Hub;

pub async fn run(
    hub: &Hub,
    id: &str,
    limit: Option<usize>,
    tools: bool,
    out: &Output,
) -> anyhow::Result<i32> {
    let t = match hub.conversations().get(id, limit, None).await {
        Ok(t) => t,
        Err(e) => return out.hub_error_exit(&e),
    };
    if out.json {
        out.json(&t)?;
        return Ok(0);
    }
    let c = &t.conversation;
    out.line(format!(
        "conversation {} ({} asks {}, {})",
        c.id,
        c.source,
        c.target,
        c.status.as_str()
    ))?;
    for m in &t.messages {
        print_message(out, m)?;
        print_tool_uses(out, m, tools)?;
    }
    Ok(0)
}
