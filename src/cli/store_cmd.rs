//! `claude-comms store status`: the store behind this data dir.

use clap::Subcommand;

use super::output::Output;
use crate::hub::Hub;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// The backend (sqlite or postgresql), where it is (a URL never shows
    /// its password), the schema version and how many conversations,
    /// messages, pending queries and tokens it holds.
    Status,
}

pub async fn run(hub: &Hub, cmd: StoreCommand, out: &Output) -> anyhow::Result<i32> {
    match cmd {
        StoreCommand::Status => {
            let status = hub.store_status().await?;
            if out.json {
                out.json(&status)?;
                return Ok(0);
            }
            let c = &status.counts;
            out.line(format!("backend:        {}", status.backend))?;
            out.line(format!("location:       {}", status.location))?;
            out.line(format!("schema version: {}", c.schema_version))?;
            out.line(format!("conversations:  {}", c.conversations))?;
            out.line(format!(
                "messages:       {} ({} queries pending)",
                c.messages, c.pending
            ))?;
            out.line(format!("tokens:         {}", c.tokens))?;
            Ok(0)
        }
    }
}
