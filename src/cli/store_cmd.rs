//! `claude-comms store status | copy`: the store behind this data dir, and
//! copying it into another (SQLite to PostgreSQL and back). The copy is
//! the library's (`hub.maintenance().copy_store`); this file words its report.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::Subcommand;

use super::output::Output;
use crate::hub::Hub;
use crate::hub::{CopyCounts, CopyError, CopyProgress};

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// The backend (sqlite or postgresql), where it is (a URL never shows
    /// its password), the schema version and how many conversations,
    /// messages, pending queries and tokens it holds.
    Status,
    /// Copy the configured store into another (SQLite to PostgreSQL and back).
    ///
    /// Copies conversations, messages (with their costs, tokens and failure
    /// causes) and access tokens, with their ids, sequence numbers, times and
    /// statuses as they are, then compares the rows per table on both sides
    /// (exit code 1 when they differ). Servers, instances, control requests
    /// and fleet nodes (runtime state) are not copied; registered modules are files
    /// in the data dir (`descriptors/`), not in the store. The copy reads one
    /// snapshot of the store, so it may run while others use it; what they
    /// write meanwhile is not copied.
    Copy {
        /// The store to copy into: a postgres:// URL, or else the path of a
        /// SQLite file (created if missing). It must be empty, unless --force.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Copy into a store that holds data: its conversations, messages and
        /// access tokens are deleted first (its servers and instances are left).
        #[arg(long)]
        force: bool,
        /// The target is reached through a pooler: `transaction` for one in
        /// transaction mode (PgBouncer's), so that no statement outlives a
        /// transaction; `session` or `none` (the default) for a direct
        /// connection.
        #[arg(long, value_enum, default_value = "none", value_name = "MODE")]
        pooler: TargetPooler,
    },
}

/// What sits between the copy and its PostgreSQL target (`[store] pooler`'s
/// values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetPooler {
    None,
    Session,
    Transaction,
}

/// How often a copy on a terminal says how far it has come.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

pub async fn run(hub: &Hub, cmd: StoreCommand, out: &Output) -> anyhow::Result<i32> {
    match cmd {
        StoreCommand::Status => status(hub, out).await,
        StoreCommand::Copy { to, force, pooler } => {
            let through_pooler = pooler == TargetPooler::Transaction;
            copy(hub, &to, force, through_pooler, out).await
        }
    }
}

async fn status(hub: &Hub, out: &Output) -> anyhow::Result<i32> {
    let status = hub.maintenance().store_status().await?;
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
    if let Some(pool) = &status.connections {
        out.line(format!(
            "connections:    {} in use, {} open of {} ([store] max_connections) + 1 listener: {}",
            pool.in_use, pool.open, pool.max, pool.listener
        ))?;
        out.line(format!("pooler:         {}", pool.pooler))?;
        out.line(format!("tls:            {}", pool.tls))?;
    }
    if let Some(server) = &status.server_connections {
        let limit = server
            .role_limit
            .map_or("no limit".to_string(), |l| format!("limit {l}"));
        out.line(format!(
            "server:         {} connections of this role ({limit}); server max_connections {}",
            server.role_open, server.server_max
        ))?;
        for app in &server.by_application {
            out.line(format!(
                "                {}: {} open, {} active",
                app.application_name, app.open, app.active
            ))?;
        }
    }
    Ok(0)
}

async fn copy(
    hub: &Hub,
    to: &str,
    force: bool,
    through_pooler: bool,
    out: &Output,
) -> anyhow::Result<i32> {
    let show_progress = std::io::stderr().is_terminal();
    let mut last_shown = Instant::now();
    let progress = move |p: CopyProgress| {
        if show_progress && last_shown.elapsed() >= PROGRESS_EVERY {
            last_shown = Instant::now();
            let _ =
                Output::new(false).note(format!("copying {}: {} of {}", p.noun, p.copied, p.total));
        }
    };
    let copied = hub
        .maintenance()
        .copy_store(to, force, through_pooler, progress)
        .await;
    hub.shutdown().await;
    let report = match copied {
        Ok(report) => report,
        Err(CopyError::TargetNotEmpty { to, found }) => {
            out.note(format!(
                "error: {to} is not empty: it holds {found}. Copy into an empty store, or pass --force to delete them first"
            ))?;
            return Ok(1);
        }
        Err(CopyError::Stopped {
            to,
            noun,
            copied,
            cause,
        }) => {
            out.note(format!(
                "error: copying {noun} into {to} stopped after {copied} of them: {cause}. The target holds a partial copy: run `store copy --force` again once the cause is fixed"
            ))?;
            return Ok(1);
        }
        Err(CopyError::CountsDiffer { report }) => {
            out.note(format!(
                "error: the copy into {} does not match the source; rows per table:",
                report.to
            ))?;
            counts_table(&report.source, &report.target, out)?;
            return Ok(1);
        }
        Err(e) => return out.error_exit(e),
    };
    if out.json {
        out.json(&report)?;
        return Ok(0);
    }
    out.line(format!("copied {} into {}", report.from, report.to))?;
    if !report.replaced.is_empty() {
        out.line(format!("(replacing what it held: {})", report.replaced))?;
    }
    counts_table(&report.source, &report.target, out)?;
    Ok(0)
}

fn counts_table(source: &CopyCounts, target: &CopyCounts, out: &Output) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = [
        ("conversations", source.conversations, target.conversations),
        ("messages", source.messages, target.messages),
        ("access tokens", source.tokens, target.tokens),
        ("questions back", source.ask_backs, target.ask_backs),
        (
            "child questions",
            source.query_parents,
            target.query_parents,
        ),
    ]
    .iter()
    .map(|(table, s, t)| vec![table.to_string(), s.to_string(), t.to_string()])
    .collect();
    out.table(&["TABLE", "SOURCE", "TARGET"], &rows)
}
