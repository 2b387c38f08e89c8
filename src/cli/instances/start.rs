//! `instances start` (and the seed's `start-instance`): with the hub daemon
//! the instance runs there and this returns at once; without one (`hub =
//! "embedded"`) it runs in this process until Ctrl-C, printing its events.

use super::StartArgs;
use super::monitor::print_event;
use crate::cli::output::Output;
use crate::hub::{Hub, StartInstance};

pub async fn run(hub: &std::sync::Arc<Hub>, args: StartArgs, out: &Output) -> anyhow::Result<i32> {
    let request = match start_request(hub, args) {
        Ok(r) => r,
        Err(e) => {
            out.note(format!("error: {e}"))?;
            return Ok(2);
        }
    };
    if hub.is_routed() {
        in_the_daemon(hub, request, out).await
    } else {
        in_this_process(hub, request, out).await
    }
}

/// The daemon keeps the instance; this returns at once.
async fn in_the_daemon(
    hub: &std::sync::Arc<Hub>,
    request: StartInstance,
    out: &Output,
) -> anyhow::Result<i32> {
    let started = hub.instances().start(request).await;
    hub.shutdown().await;
    let status = match started {
        Ok(status) => status,
        Err(e) => return out.error_exit(e),
    };
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

/// No daemon: the instance lives as long as this process, which prints
/// its events until Ctrl-C and then stops it.
async fn in_this_process(
    hub: &std::sync::Arc<Hub>,
    request: StartInstance,
    out: &Output,
) -> anyhow::Result<i32> {
    let status = match hub.instances().start(request).await {
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

/// The hub's start request from the command line.
fn start_request(hub: &Hub, args: StartArgs) -> Result<StartInstance, String> {
    let pair = match (args.pair, args.module) {
        (Some(pair), _) => Some(crate::hub::parse_pair(&pair).map_err(|e| format!("--pair: {e}"))?),
        (None, Some(target)) => {
            let from = args.from.or_else(|| {
                std::env::current_dir()
                    .ok()
                    .and_then(|cwd| hub.modules().for_folder(&cwd))
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
    Ok(StartInstance {
        backend: args.backend,
        pair,
        name: args.name,
    })
}
