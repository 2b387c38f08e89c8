//! `claude-comms daemon run | start | stop | status`: the hub daemon that
//! owns every child, the store writer and the live events for this data dir.

use clap::Subcommand;

use super::output::Output;
use crate::config::LoadedConfig;
use crate::daemon_link::DaemonPaths;
use crate::daemon_link::lifecycle::{self, DaemonStatus};
use crate::hub::InstanceRow;

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Run the daemon in the foreground (for systemd or launchd); Ctrl-C or SIGTERM stops it.
    Run {
        /// Exit after this many seconds without work (0 or absent: never).
        #[arg(long, value_name = "SECONDS")]
        idle_exit_s: Option<u64>,
        /// Also serve MCP to remote hosts at http(s)://ADDR/mcp (tokens required); overrides `[daemon] listen`.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Started on demand by a command (`hub = "auto"`), not by hand.
        #[arg(long, hide = true)]
        on_demand: bool,
    },
    /// Start the daemon in the background and return once it answers.
    Start {
        /// Exit after this many seconds without work (default: never).
        #[arg(long, value_name = "SECONDS")]
        idle_exit_s: Option<u64>,
        /// Also serve MCP to remote hosts at http(s)://ADDR/mcp (tokens required); overrides `[daemon] listen`.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Stop the daemon: in-flight work is interrupted and recorded, every child stopped.
    Stop,
    /// Is a daemon running: pid, uptime, socket, instances, jobs, memory.
    Status,
}

pub async fn run(cmd: DaemonCommand, config: LoadedConfig, out: &Output) -> anyhow::Result<i32> {
    match cmd {
        DaemonCommand::Run {
            idle_exit_s,
            listen,
            on_demand,
        } => in_the_foreground(config, idle_exit_s, listen, on_demand, out).await,
        DaemonCommand::Start {
            idle_exit_s,
            listen,
        } => start(config, idle_exit_s, listen, out).await,
        DaemonCommand::Stop => stop(&config, out).await,
        DaemonCommand::Status => status(config, out).await,
    }
}

/// `daemon run`: the daemon in this process until Ctrl-C or SIGTERM (or
/// its idle exit).
async fn in_the_foreground(
    mut config: LoadedConfig,
    idle_exit_s: Option<u64>,
    listen: Option<String>,
    on_demand: bool,
    out: &Output,
) -> anyhow::Result<i32> {
    if listen.is_some() {
        config.config.daemon.listen = listen;
    }
    let idle = idle_exit_s
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs);
    match crate::daemon::run::run(config, idle, on_demand).await {
        Ok(()) => Ok(0),
        // Its own exit code, so a command starting it on demand
        // waits for the daemon that holds the lock.
        Err(e) if e.is_lock_held() => {
            out.note(format!("claude-comms: {e}"))?;
            Ok(crate::daemon_link::lock::LOCK_HELD_EXIT)
        }
        // A hub error reaches the CLI's words as it would in process.
        Err(crate::daemon::RunError::Hub(e)) => Err(e.into()),
        Err(e) => Err(e.into()),
    }
}

/// `daemon start`: the daemon in the background, once it answers.
async fn start(
    mut config: LoadedConfig,
    idle_exit_s: Option<u64>,
    listen: Option<String>,
    out: &Output,
) -> anyhow::Result<i32> {
    if listen.is_some() {
        config.config.daemon.listen = listen;
    }
    let info = lifecycle::start(&config, idle_exit_s.unwrap_or(0), false).await?;
    if out.json {
        out.json(&info)?;
    } else {
        out.line(format!(
            "daemon pid {} listens on {}",
            info.pid, info.socket
        ))?;
        if let Some(url) = &info.http_url {
            out.line(format!(
                "remote hosts: {url} (with a token: `claude-comms tokens create`)"
            ))?;
        }
    }
    Ok(0)
}

/// `daemon stop`: exit 0 whether a daemon was stopped or none ran.
async fn stop(config: &LoadedConfig, out: &Output) -> anyhow::Result<i32> {
    match lifecycle::stop(config).await? {
        Some(pid) => out.line(format!("stopped daemon pid {pid}"))?,
        None => out.line(format!(
            "no daemon runs for {}",
            config.paths.data_dir.display()
        ))?,
    }
    Ok(0)
}

/// What every command says when the data dir's daemon is of another build
/// than this program and is not replaced by it (one started by hand, say;
/// one started on demand makes way by itself once idle), under a `hub`
/// policy that uses a daemon.
pub fn other_build_note(config: &LoadedConfig) -> Option<String> {
    if crate::daemon::HubPolicy::parse(&config.config.hub).ok()?
        == crate::daemon::HubPolicy::Embedded
    {
        return None;
    }
    crate::daemon_link::build::other_build_daemon(&DaemonPaths::of(config))
        .filter(|daemon| !crate::daemon_link::build::may_replace(daemon))
        .map(|daemon| crate::daemon_link::build::note(&daemon))
}

/// `daemon status`: exit 0 when a daemon runs, 3 when none does.
async fn status(config: LoadedConfig, out: &Output) -> anyhow::Result<i32> {
    let status = lifecycle::status(&config);
    let paths = DaemonPaths::of(&config);
    let hub = crate::hub::Hub::open(config, None)?;
    let instances: Vec<_> = hub
        .instances()
        .all()
        .await?
        .into_iter()
        .filter(|r| r.server_alive && Some(r.server_pid) == status.pid)
        .collect();
    let pending = hub
        .jobs()
        .list(Some(crate::hub::MessageStatus::Pending), None, 500)
        .await?;
    hub.shutdown().await;
    if out.json {
        out.json(&serde_json::json!({
            "daemon": status,
            "instances": instances,
            "jobs_pending": pending.len(),
        }))?;
        return Ok(if status.running { 0 } else { 3 });
    }
    if !status.running {
        out.line(format!(
            "no daemon runs for this data dir (its socket would be {}); `claude-comms daemon start` starts one",
            paths.socket.display()
        ))?;
        return Ok(3);
    }
    print_running(&status, &instances, pending.len(), out)?;
    Ok(0)
}

/// A running daemon in words: its process, build, memory and work, then
/// one line per instance it runs.
fn print_running(
    status: &DaemonStatus,
    instances: &[InstanceRow],
    jobs_pending: usize,
    out: &Output,
) -> anyhow::Result<()> {
    out.line(format!(
        "daemon pid {} up {} s, listening on {}",
        status.pid.unwrap_or(0),
        status.uptime_s.unwrap_or(0),
        status.socket
    ))?;
    if let Some(url) = &status.http_url {
        out.line(format!("remote hosts: {url}"))?;
    }
    out.line(format!(
        "version {} build {}, started {}",
        status.version.as_deref().unwrap_or("?"),
        status.build.as_deref().unwrap_or("?"),
        if status.on_demand == Some(true) {
            "on demand"
        } else {
            "by hand"
        }
    ))?;
    if let Some(other) = &status.other_build {
        out.line(format!("note: {other}"))?;
    }
    out.line(format!(
        "memory {} MB resident; {} instance(s); {} job(s) pending; idle exit {}",
        status.rss_kib.unwrap_or(0) / 1024,
        instances.len(),
        jobs_pending,
        match status.idle_exit_s {
            Some(0) | None => "never".to_string(),
            Some(s) => format!("after {s} s"),
        }
    ))?;
    for row in instances {
        out.line(format!(
            "  {} [{}] {} pid {} rss {}",
            row.instance.id,
            row.instance.backend,
            row.instance.state,
            row.instance
                .pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
            row.instance
                .rss_kib
                .map(|k| format!("{} MB", k / 1024))
                .unwrap_or_else(|| "-".into())
        ))?;
    }
    Ok(())
}
