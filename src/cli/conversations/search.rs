//! `conversations search QUERY`: full-text search over all messages.

use crate::cli::output::Output;
use crate::hub::Hub;

pub async fn run(
    hub: &Hub,
    query: &str,
    module: Option<String>,
    limit: usize,
    out: &Output,
) -> anyhow::Result<i32> {
    let results = match hub.conversations().search(query, module, limit).await {
        Ok(results) => results,
        Err(e) => return out.hub_error_exit(&e),
    };
    if out.json {
        out.json(&results)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = results
        .hits
        .iter()
        .map(|h| {
            vec![
                h.conversation_id.clone(),
                h.seq.to_string(),
                h.sender.clone(),
                h.role.as_str().to_string(),
                h.snippet.replace('\n', " "),
            ]
        })
        .collect();
    out.table(&["CONVERSATION", "SEQ", "SENDER", "ROLE", "SNIPPET"], &rows)?;
    Ok(0)
}
