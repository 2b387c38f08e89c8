//! The daemon process (`claude-comms daemon run`): takes the data dir's
//! lock, opens the hub, serves MCP over Streamable HTTP on its Unix socket,
//! and on SIGTERM/SIGINT (or when idle for `idle_exit_s`) stops cleanly:
//! sessions close, in-flight work is interrupted and recorded, every child
//! is stopped, the socket and `daemon.json` are removed, and it exits 0.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{RunError, http};
use crate::config::LoadedConfig;
use crate::daemon_link::lock::DaemonLock;
use crate::daemon_link::{DaemonInfo, DaemonPaths, build};
use crate::hub::Hub;

/// How often the daemon checks whether it has been idle long enough.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// How often the daemon checks that its data dir and database are still
/// the ones it opened.
const FILES_CHECK: Duration = Duration::from_secs(2);

/// How often a daemon asked to make way checks whether it is idle.
const MAKE_WAY_CHECK: Duration = Duration::from_millis(200);

/// How long open HTTP connections may take to close at shutdown.
const CONNECTIONS_GRACE: Duration = Duration::from_secs(5);

/// Runs the daemon until a signal or the idle timeout; `idle_exit` of
/// `None` keeps it running.
/// `on_demand`: started by a command under `hub = "auto"`, so it makes way
/// for a client of another build once idle.
pub async fn run(
    config: LoadedConfig,
    idle_exit: Option<Duration>,
    on_demand: bool,
) -> Result<(), RunError> {
    let paths = DaemonPaths::of(&config);
    // A bad `[daemon] listen`/TLS setting fails here, before the lock, the
    // database or any announcement.
    let tcp_plan = http::plan(&config.config.daemon)?;
    let lock = DaemonLock::take(&paths)?;
    let hub = Hub::open(config, None)?;
    let served = serve(&hub, &paths, idle_exit, on_demand, tcp_plan).await;
    // A node leaves the fleet first, while the store is still in use: the
    // others then refuse questions to its modules at once instead of
    // routing them to it until its lease runs out.
    hub.node().leave_fleet().await;
    // Whatever ended it: stop the children, record what was cut, clean up.
    hub.shutdown().await;
    let _ = std::fs::remove_file(&paths.socket);
    let _ = std::fs::remove_file(&paths.state);
    drop(lock);
    tracing::info!("daemon stopped");
    served
}

async fn serve(
    hub: &Arc<Hub>,
    paths: &DaemonPaths,
    idle_exit: Option<Duration>,
    on_demand: bool,
    tcp_plan: Option<http::TcpPlan>,
) -> Result<(), RunError> {
    hub.node().announce().await?;
    // We hold the lock, so a socket file left here is a crashed daemon's.
    let _ = std::fs::remove_file(&paths.socket);
    let listener = tokio::net::UnixListener::bind(&paths.socket)
        .map_err(|e| RunError::io(format!("cannot listen on {}", paths.socket.display()), e))?;
    std::fs::set_permissions(&paths.socket, std::fs::Permissions::from_mode(0o600)).map_err(
        |e| {
            RunError::io(
                format!("cannot restrict {} to its user", paths.socket.display()),
                e,
            )
        },
    )?;

    let sessions_end = CancellationToken::new();
    let stop = CancellationToken::new();
    let last_request = Arc::new(AtomicI64::new(crate::time::now_ms()));
    let router = http::with_activity(
        http::socket_router(hub, &hub.config().config.daemon, &sessions_end),
        last_request.clone(),
    );
    // The TCP face for remote hosts, when configured: bound before the
    // daemon says it is ready, so an address in use fails the start.
    let tcp = match tcp_plan {
        Some(plan) => Some(
            http::bind_tcp(
                plan,
                &hub.config().config.daemon,
                hub,
                &sessions_end,
                stop.clone(),
                last_request.clone(),
            )
            .await?,
        ),
        None => None,
    };

    let info = DaemonInfo {
        pid: std::process::id(),
        socket: paths.socket.display().to_string(),
        started_at: crate::time::now_ms(),
        version: build::VERSION.to_string(),
        build: build::build_id().to_string(),
        on_demand,
        exe: std::env::current_exe()
            .ok()
            .map(|p| p.display().to_string()),
        idle_exit_s: idle_exit.map_or(0, |d| d.as_secs()),
        http_url: tcp.as_ref().map(|t| t.url.clone()),
    };
    // Listen for "make way" before anyone can read our pid from
    // daemon.json: SIGUSR1's default action would end the process.
    let make_way = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        .map_err(|e| RunError::io("cannot listen for SIGUSR1", e))?;
    if hub.node().in_a_fleet() {
        // A node may be refused (its name is taken by a live node, or the
        // fleet runs another schema): then the daemon does not start.
        crate::hub::fleet::run_node(hub.clone(), info.http_url.clone(), stop.clone())
            .await
            .map_err(RunError::Fleet)?;
    }
    write_state(&paths.state, &info)?;
    tracing::info!(socket = %paths.socket.display(), http = ?info.http_url, pid = info.pid, "daemon ready");

    {
        let stop = stop.clone();
        hub.spawn_until_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("signal received; stopping the daemon");
            stop.cancel();
        });
    }
    {
        let stop = stop.clone();
        let config = hub.config();
        // The SQLite file is watched too; a PostgreSQL store is not a file
        // here (its outages are the store's to report).
        let mut watched = vec![config.paths.data_dir.clone()];
        if let crate::config::store::StoreLocation::Sqlite(file) = config.store_location() {
            watched.push(file);
        }
        hub.spawn_until_shutdown(async move {
            let why = files_gone(&watched).await;
            tracing::error!("{why}; stopping the daemon (nothing it wrote could be read again)");
            stop.cancel();
        });
    }
    hub.spawn_until_shutdown(make_way_when_idle(
        make_way,
        on_demand,
        Arc::downgrade(hub),
        stop.clone(),
        last_request.clone(),
    ));
    if let Some(idle_exit) = idle_exit {
        let (stop, hub_weak, last_request) = (stop.clone(), Arc::downgrade(hub), last_request);
        hub.spawn_until_shutdown(async move {
            loop {
                tokio::time::sleep(IDLE_CHECK).await;
                let Some(hub) = hub_weak.upgrade() else {
                    return;
                };
                let quiet_ms = crate::time::now_ms() - last_request.load(Ordering::Relaxed);
                if quiet_ms >= idle_exit.as_millis() as i64 && hub.is_idle() {
                    tracing::info!(idle_s = idle_exit.as_secs(), "idle; stopping the daemon");
                    stop.cancel();
                    return;
                }
            }
        });
    }

    let server = axum::serve(listener, router).with_graceful_shutdown({
        let (stop, sessions_end) = (stop.clone(), sessions_end.clone());
        async move {
            stop.cancelled().await;
            sessions_end.cancel();
        }
    });
    let server = server.into_future();
    tokio::pin!(server);
    let tcp_serving = async move {
        match tcp {
            Some(face) => face.serving.await,
            None => Ok(()),
        }
    };
    let both = async { tokio::try_join!(&mut server, tcp_serving) };
    tokio::select! {
        served = both => {
            served.map_err(|e| RunError::io("the daemon's HTTP server failed", e))?;
        }
        _ = async {
            stop.cancelled().await;
            tokio::time::sleep(CONNECTIONS_GRACE).await;
        } => tracing::warn!("some connections did not close within {}s", CONNECTIONS_GRACE.as_secs()),
    }
    Ok(())
}

/// A client of another build asks a daemon to make way with SIGUSR1 (see
/// `build`). One started on demand stops as soon as it has no work; one
/// started by hand keeps running (its owner restarts it).
/// How long a daemon that makes way waits after the last request began.
const MAKE_WAY_QUIET: Duration = Duration::from_millis(300);

async fn make_way_when_idle(
    mut make_way: tokio::signal::unix::Signal,
    on_demand: bool,
    hub: std::sync::Weak<Hub>,
    stop: CancellationToken,
    last_request: Arc<AtomicI64>,
) {
    loop {
        if make_way.recv().await.is_none() {
            return;
        }
        if on_demand {
            break;
        }
        tracing::warn!(
            "a client of another build asked this daemon to make way; it was started by hand, so it keeps running"
        );
    }
    tracing::info!("a client of another build asked this daemon to make way; stopping once idle");
    loop {
        let Some(hub) = hub.upgrade() else {
            return;
        };
        // Idle, and no request began just now: the answer to the request
        // that made it idle (a cancelled job's `jobs cancel`) is still on
        // its way, and a daemon that stopped now would cut it off.
        let quiet = crate::time::now_ms() - last_request.load(Ordering::Relaxed)
            >= MAKE_WAY_QUIET.as_millis() as i64;
        if hub.is_idle() && quiet {
            tracing::info!("idle; stopping the daemon for the new build");
            stop.cancel();
            return;
        }
        drop(hub);
        tokio::time::sleep(MAKE_WAY_CHECK).await;
    }
}

/// Returns, saying why, once one of `paths` is deleted or replaced (a data
/// dir removed by hand, say): a daemon left running would answer with a
/// database nobody else can see, idle for its whole idle time.
async fn files_gone(paths: &[std::path::PathBuf]) -> String {
    use std::os::unix::fs::MetadataExt;
    let identity = |path: &std::path::Path| std::fs::metadata(path).map(|m| (m.dev(), m.ino()));
    let opened: Vec<_> = paths.iter().map(|p| identity(p).ok()).collect();
    loop {
        tokio::time::sleep(FILES_CHECK).await;
        for (path, opened) in paths.iter().zip(&opened) {
            match (identity(path), opened) {
                (Err(e), _) if e.kind() == std::io::ErrorKind::NotFound => {
                    return format!("{} was deleted", path.display());
                }
                (Ok(now), Some(opened)) if now != *opened => {
                    return format!("{} was replaced by another", path.display());
                }
                _ => {}
            }
        }
    }
}

/// Writes `daemon.json` whole (temp file + rename), readable by its user only.
fn write_state(path: &std::path::Path, info: &DaemonInfo) -> Result<(), RunError> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(info)?)
        .map_err(|e| RunError::io(format!("cannot write {}", tmp.display()), e))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| RunError::io(format!("cannot write {}", path.display()), e))?;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            // A detached daemon outlives the terminal that started it.
            _ = hup.recv() => continue,
        }
    }
}
