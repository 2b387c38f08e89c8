//! `claude-comms instances list | start | stop ID | pause ID | resume ID | restart ID | monitor ID`:
//! the background instances of every server process sharing the database.

use clap::Subcommand;

use super::output::Output;
use crate::config::BackendKind;
use crate::hub::{ControlAction, Hub, InstanceEvent};

#[derive(Debug, Subcommand)]
pub enum InstancesCommand {
    /// Instances of all servers (dead servers' rows are marked dead).
    List,
    /// Start an instance. With the hub daemon (the default) it runs there and
    /// this returns at once; without one (hub = "embedded") it runs in this
    /// process until Ctrl-C, printing its events.
    Start(StartArgs),
    /// Stop an instance (in whichever server runs it).
    Stop {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
    },
    /// Take no new work on an instance; what is in flight finishes.
    Pause {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
    },
    /// Let a paused (or crash-looping) instance take work again.
    Resume {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
    },
    /// Replace an instance's child with a fresh process (same id and pairs).
    Restart {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
    },
    /// Follow an instance's stderr and events live.
    Monitor {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
        /// Lines of history to show first.
        #[arg(long, default_value_t = 20)]
        lines: usize,
    },
}

/// Arguments of `instances start` (and the seed's `start-instance`).
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// `claude-code-mcp` (default) or `claude-stream`.
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// A name every instance command accepts instead of the id; `SOURCE_TARGET`
    /// of two known modules (e.g. marker_arangodb) binds that pair.
    #[arg(long)]
    pub name: Option<String>,
    /// The answering module this instance serves (the asker: --from, or
    /// CLAUDE_COMMS_MODULE, or the module of the current folder).
    #[arg(long)]
    pub module: Option<String>,
    /// The asking module, with --module.
    #[arg(long = "from", env = "CLAUDE_COMMS_MODULE")]
    pub from: Option<String>,
    /// The pair it serves, as SOURCE:TARGET.
    #[arg(long, value_name = "SOURCE:TARGET")]
    pub pair: Option<String>,
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
            let now = crate::time::now_ms();
            // In a fleet, which node runs each instance.
            let fleet = hub.in_a_fleet();
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let i = &r.instance;
                    let mut row = vec![
                        i.id.clone(),
                        i.name.clone().unwrap_or_else(|| "-".into()),
                        i.backend.clone(),
                        if r.server_alive {
                            i.state.clone()
                        } else {
                            format!("{} (server dead)", i.state)
                        },
                        i.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                        format!("{}", r.server_pid),
                        i.started_at
                            .map(|s| super::when::span((now - s).max(0) / 1000))
                            .unwrap_or_else(|| "-".into()),
                        i.rss_kib
                            .map(|k| format!("{:.1} MB", k as f64 / 1024.0))
                            .unwrap_or_else(|| "-".into()),
                        i.requests_served.to_string(),
                        i.in_flight.to_string(),
                        i.queued.to_string(),
                        i.restarts.to_string(),
                        i.module_pair.clone().unwrap_or_default(),
                    ];
                    if fleet {
                        row.insert(6, r.node.clone().unwrap_or_else(|| "-".into()));
                    }
                    row
                })
                .collect();
            let mut header = vec![
                "ID",
                "NAME",
                "BACKEND",
                "STATE",
                "PID",
                "SERVER",
                "UPTIME",
                "RSS",
                "SERVED",
                "IN-FLIGHT",
                "QUEUED",
                "RESTARTS",
                "PAIRS",
            ];
            if fleet {
                header.insert(6, "NODE");
            }
            out.table(&header, &table)?;
            Ok(0)
        }
        InstancesCommand::Start(args) => {
            let request = match start_request(hub, args) {
                Ok(r) => r,
                Err(e) => {
                    out.note(format!("error: {e}"))?;
                    return Ok(2);
                }
            };
            if hub.is_routed() {
                // The daemon keeps it; this returns at once.
                let started = hub.start_instance(request).await;
                hub.shutdown().await;
                return match started {
                    Ok(status) => {
                        if out.json {
                            out.json(&status)?;
                        } else {
                            out.line(format!(
                                "started {}{} ({}) in the daemon, pid {}",
                                status.instance_id,
                                status
                                    .name
                                    .as_deref()
                                    .map(|n| format!(" \"{n}\""))
                                    .unwrap_or_default(),
                                status.state.as_str(),
                                status
                                    .pid
                                    .map(|p| p.to_string())
                                    .unwrap_or_else(|| "-".into())
                            ))?;
                        }
                        Ok(0)
                    }
                    Err(e) => {
                        out.note(format!("error: {e}"))?;
                        Ok(1)
                    }
                };
            }
            let status = match hub.start_instance(request).await {
                Ok(s) => s,
                Err(e) => {
                    out.error(&e)?;
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
        InstancesCommand::Restart { id } => control(hub, &id, ControlAction::Restart, out).await,
        InstancesCommand::Monitor { id, lines } => monitor(hub, &id, lines, out).await,
    }
}

/// The hub's start request from the command line.
fn start_request(hub: &Hub, args: StartArgs) -> Result<crate::hub::StartInstance, String> {
    let pair = match (args.pair, args.module) {
        (Some(pair), _) => Some(crate::hub::parse_pair(&pair).map_err(|e| format!("--pair: {e}"))?),
        (None, Some(target)) => {
            let from = args.from.or_else(|| {
                std::env::current_dir()
                    .ok()
                    .and_then(|cwd| hub.module_for_folder(&cwd))
            });
            match from {
                Some(source) => Some((source, target)),
                None => {
                    return Err(format!(
                        "--module {target}: which module asks it? Give --from MODULE (or --pair SOURCE:{target}), set CLAUDE_COMMS_MODULE, or run this inside a registered module's folder"
                    ));
                }
            }
        }
        (None, None) => None,
    };
    Ok(crate::hub::StartInstance {
        backend: args.backend,
        pair,
        name: args.name,
    })
}

async fn control(hub: &Hub, id: &str, action: ControlAction, out: &Output) -> anyhow::Result<i32> {
    match hub.control_instance(id, action).await {
        Ok(status) => {
            if out.json {
                out.json(&status)?;
            } else {
                out.line(format!(
                    "{} is {}",
                    status.instance_id,
                    status.state.as_str()
                ))?;
            }
            Ok(0)
        }
        Err(e) => {
            out.error(&e)?;
            Ok(1)
        }
    }
}

/// Prints the last `lines` events of an instance's journal, then follows it.
async fn monitor(
    hub: &std::sync::Arc<Hub>,
    id: &str,
    lines: usize,
    out: &Output,
) -> anyhow::Result<i32> {
    let (recent, mut follower) = match hub.follow_instance_journal(id, lines).await {
        Ok(found) => found,
        Err(e) => {
            out.error(&e)?;
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
        out.line(format!(
            "{} {:<7} {}",
            super::when::clock(e.at_ms),
            e.kind,
            e.text
        ))
    }
}
