//! `claude-comms instances list | start | stop ID | pause ID | resume ID | monitor ID`:
//! the background instances of every server process sharing the database.

use std::io::{BufRead, Seek};
use std::time::Duration;

use clap::Subcommand;

use super::output::Output;
use crate::config::BackendKind;
use crate::hub::{ControlAction, Hub};
use crate::instances::InstanceEvent;

/// How often `monitor` looks for new lines in an instance's journal.
const MONITOR_POLL: Duration = Duration::from_millis(200);

#[derive(Debug, Subcommand)]
pub enum InstancesCommand {
    /// Instances of all servers (dead servers' rows are marked dead).
    List,
    /// Start an instance in this process and keep it until Ctrl-C, printing its events.
    Start {
        /// `claude-code-mcp` (default) or `claude-stream`.
        #[arg(long, value_parser = parse_backend)]
        backend: Option<BackendKind>,
    },
    /// Stop an instance (in whichever server runs it).
    Stop { id: String },
    /// Take no new work on an instance; what is in flight finishes.
    Pause { id: String },
    /// Let a paused (or crash-looping) instance take work again.
    Resume { id: String },
    /// Follow an instance's stderr and events live.
    Monitor {
        id: String,
        /// Lines of history to show first.
        #[arg(long, default_value_t = 20)]
        lines: usize,
    },
}

pub(super) fn parse_backend(s: &str) -> Result<BackendKind, String> {
    match s {
        "claude-code-mcp" => Ok(BackendKind::ClaudeCodeMcp),
        "claude-stream" => Ok(BackendKind::ClaudeStream),
        other => Err(format!(
            "unknown backend \"{other}\" (backends: claude-code-mcp, claude-stream)"
        )),
    }
}

pub async fn run(
    hub: &std::sync::Arc<Hub>,
    cmd: InstancesCommand,
    out: &Output,
) -> anyhow::Result<i32> {
    match cmd {
        InstancesCommand::List => {
            let rows = hub.all_instances().await?;
            if out.json {
                out.json(&rows)?;
                return Ok(0);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.instance.id.clone(),
                        r.instance.backend.clone(),
                        if r.server_alive {
                            r.instance.state.clone()
                        } else {
                            format!("{} (server dead)", r.instance.state)
                        },
                        r.instance
                            .pid
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "-".into()),
                        format!("{}", r.server_pid),
                        r.instance.requests_served.to_string(),
                        r.instance.in_flight.to_string(),
                        r.instance.queued.to_string(),
                        r.instance.module_pair.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out.table(
                &[
                    "ID",
                    "BACKEND",
                    "STATE",
                    "PID",
                    "SERVER",
                    "SERVED",
                    "IN-FLIGHT",
                    "QUEUED",
                    "PAIRS",
                ],
                &table,
            )?;
            Ok(0)
        }
        InstancesCommand::Start { backend } => {
            hub.announce().await?;
            let backend = backend.unwrap_or(hub.config().config.instances.backend);
            let status = match hub.instances().start(backend).await {
                Ok(s) => s,
                Err(e) => {
                    out.note(format!("error: {e}"))?;
                    hub.shutdown().await;
                    return Ok(1);
                }
            };
            hub.beat().await?;
            if out.json {
                out.json(&status)?;
            } else {
                out.line(format!(
                    "started {} (pid {}); Ctrl-C stops it",
                    status.instance_id,
                    status
                        .pid
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "-".into())
                ))?;
            }
            let mut events = hub.instances().subscribe(&status.instance_id)?;
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    event = events.recv() => match event {
                        Ok(e) => print_event(out, &e)?,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => break,
                    },
                }
            }
            hub.shutdown().await;
            Ok(0)
        }
        InstancesCommand::Stop { id } => control(hub, &id, ControlAction::Stop, out).await,
        InstancesCommand::Pause { id } => control(hub, &id, ControlAction::Pause, out).await,
        InstancesCommand::Resume { id } => control(hub, &id, ControlAction::Resume, out).await,
        InstancesCommand::Monitor { id, lines } => monitor(hub, &id, lines, out).await,
    }
}

async fn control(hub: &Hub, id: &str, action: ControlAction, out: &Output) -> anyhow::Result<i32> {
    match hub.control_instance(id, action).await {
        Ok(result) => {
            out.line(result)?;
            Ok(0)
        }
        Err(e) => {
            out.note(format!("error: {e}"))?;
            Ok(1)
        }
    }
}

/// Prints the last `lines` events of an instance's journal, then follows it.
async fn monitor(hub: &Hub, id: &str, lines: usize, out: &Output) -> anyhow::Result<i32> {
    let path = crate::instances::journal_path(&hub.config().paths.data_dir.join("instances"), id);
    let Ok(file) = std::fs::File::open(&path) else {
        out.note(format!(
            "error: no events for instance \"{id}\" (looked for {}); `claude-comms instances list` shows the ids",
            path.display()
        ))?;
        return Ok(1);
    };
    let mut reader = std::io::BufReader::new(file);
    let mut history = std::collections::VecDeque::new();
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 {
        if history.len() == lines.max(1) {
            history.pop_front();
        }
        history.push_back(std::mem::take(&mut line));
    }
    for l in history.iter().skip(usize::from(lines == 0)) {
        print_journal_line(out, l)?;
    }
    loop {
        line.clear();
        let before = reader.stream_position()?;
        if reader.read_line(&mut line)? > 0 && line.ends_with('\n') {
            print_journal_line(out, &line)?;
            continue;
        }
        // A partly written line: read it again when it is complete.
        reader.seek(std::io::SeekFrom::Start(before))?;
        if std::fs::metadata(&path).is_ok_and(|m| m.len() < before) {
            reader.seek(std::io::SeekFrom::Start(0))?; // The journal was started afresh.
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(0),
            _ = tokio::time::sleep(MONITOR_POLL) => {}
        }
    }
}

fn print_journal_line(out: &Output, line: &str) -> anyhow::Result<()> {
    match serde_json::from_str::<InstanceEvent>(line) {
        Ok(event) => print_event(out, &event),
        Err(_) => Ok(()),
    }
}

fn print_event(out: &Output, e: &InstanceEvent) -> anyhow::Result<()> {
    if out.json {
        out.line(serde_json::to_string(e)?)
    } else {
        out.line(format!("{} {:<7} {}", e.at_ms, e.kind, e.text))
    }
}
