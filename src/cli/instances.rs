//! `claude-comms instances list | start | stop ID | pause ID | resume ID | monitor ID`:
//! the background instances of every server process sharing the database.

use clap::Subcommand;

use super::output::Output;
use crate::config::BackendKind;
use crate::hub::{ControlAction, Hub, InstanceEvent};

#[derive(Debug, Subcommand)]
pub enum InstancesCommand {
    /// Instances of all servers (dead servers' rows are marked dead).
    List,
    /// Start an instance in this process and keep it until Ctrl-C, printing its events.
    Start {
        /// `claude-code-mcp` (default) or `claude-stream`.
        #[arg(long, value_enum)]
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
            let status = match hub.start_instance(backend, None).await {
                Ok(s) => s,
                Err(e) => {
                    out.note(format!("error: {e}"))?;
                    hub.shutdown().await;
                    return Ok(1);
                }
            };
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
            let mut events = hub.subscribe_instance(&status.instance_id)?;
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
    let (recent, mut follower) = match hub.follow_instance_journal(id, lines).await {
        Ok(found) => found,
        Err(e) => {
            out.note(format!("error: {e}"))?;
            return Ok(1);
        }
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

fn print_event(out: &Output, e: &InstanceEvent) -> anyhow::Result<()> {
    if out.json {
        out.line(serde_json::to_string(e)?)
    } else {
        out.line(format!("{} {:<7} {}", e.at_ms, e.kind, e.text))
    }
}
