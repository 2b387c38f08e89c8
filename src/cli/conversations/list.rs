//! `conversations list`: a page of conversations, most recently active
//! first, and the cursor of the next page.

use crate::cli::output::Output;
use crate::cli::when;
use crate::hub::{ConversationFilter, Hub};

pub async fn run(hub: &Hub, filter: ConversationFilter, out: &Output) -> anyhow::Result<i32> {
    let page = match hub.conversations().list(filter).await {
        Ok(page) => page,
        Err(e) => return out.hub_error_exit(&e),
    };
    if out.json {
        out.json(&page)?;
        return Ok(0);
    }
    let now = crate::time::now_ms();
    let rows: Vec<Vec<String>> = page
        .conversations
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.source.clone(),
                c.target.clone(),
                c.status.as_str().to_string(),
                c.message_count.to_string(),
                when::ago(c.updated_at, now),
                c.title.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.table(
        &["ID", "FROM", "TO", "STATUS", "MESSAGES", "UPDATED", "TITLE"],
        &rows,
    )?;
    if let Some(next) = &page.next_cursor {
        out.note(format!("more: --cursor {next}"))?;
    }
    Ok(0)
}
