//! `conversations archive ID`: the conversation stays readable and takes
//! no new messages.

use crate::cli::output::Output;
use crate::hub::Hub;

pub async fn run(hub: &Hub, id: &str, out: &Output) -> anyhow::Result<i32> {
    let c = match hub.conversations().archive(id).await {
        Ok(c) => c,
        Err(e) => return out.hub_error_exit(&e),
    };
    if out.json {
        out.json(&c)?;
    } else {
        out.line(format!("archived {}", c.id))?;
    }
    Ok(0)
}
