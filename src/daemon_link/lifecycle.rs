//! `claude-comms daemon start | stop | status`: start a detached daemon and
//! wait until it answers, stop one cleanly, report on one.

use std::io::{Read, Seek};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;

use super::lock::{DaemonLock, LOCK_HELD_EXIT};
use super::{DaemonInfo, DaemonPaths, LinkError, listening};
use crate::config::LoadedConfig;
use crate::host::pid_exists;

/// How long `daemon start` waits for the new daemon to answer.
const START_WAIT: Duration = Duration::from_secs(20);
/// How long `daemon stop` waits for a clean exit before SIGKILL.
const STOP_WAIT: Duration = Duration::from_secs(30);
/// Between checks while waiting.
const POLL: Duration = Duration::from_millis(25);
/// Bytes of the daemon's log quoted when it fails to start.
const LOG_TAIL_BYTES: u64 = 2000;

/// Starts a detached daemon for this data dir (unless one answers already)
/// and returns once it answers. Many commands may ask at once on a data dir
/// with no daemon: one of them starts it (they take turns on
/// `daemon.start.lock`), the others wait for it and use it. `on_demand`:
/// started for a command under `hub = "auto"` rather than by hand.
pub async fn start(
    config: &LoadedConfig,
    idle_exit_s: u64,
    on_demand: bool,
) -> Result<DaemonInfo, LinkError> {
    let paths = DaemonPaths::of(config);
    if let Some(info) = answering(&paths).await {
        return Ok(info);
    }
    std::fs::create_dir_all(&config.paths.data_dir).map_err(|e| {
        LinkError::io(
            format!("cannot create {}", config.paths.data_dir.display()),
            e,
        )
    })?;
    let deadline = tokio::time::Instant::now() + START_WAIT;
    let _turn = loop {
        if let Some(turn) = StartTurn::try_take(&paths)? {
            break turn;
        }
        // Another command is starting one: use it once it answers.
        if let Some(info) = answering(&paths).await {
            return Ok(info);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(LinkError::NotStarted(format!(
                "another command has been starting the daemon for {}s and it does not answer; its log {} may say why",
                START_WAIT.as_secs(),
                paths.log.display()
            )));
        }
        tokio::time::sleep(POLL).await;
    };
    // The command before us may have started it while we waited our turn.
    if let Some(info) = answering(&paths).await {
        return Ok(info);
    }
    spawn_and_wait(config, &paths, idle_exit_s, on_demand, deadline).await
}

/// The daemon's state once it answers on its socket.
async fn answering(paths: &DaemonPaths) -> Option<DaemonInfo> {
    if listening(&paths.socket).await {
        DaemonInfo::read(&paths.state)
    } else {
        None
    }
}

/// The turn to start the daemon: an exclusive `flock` on
/// `daemon.start.lock`, released when dropped (or when the process dies).
struct StartTurn {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

impl StartTurn {
    fn try_take(paths: &DaemonPaths) -> Result<Option<StartTurn>, LinkError> {
        use nix::fcntl::{Flock, FlockArg};
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&paths.start_lock)
            .map_err(|e| LinkError::io(format!("cannot open {}", paths.start_lock.display()), e))?;
        Ok(Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .ok()
            .map(|lock| StartTurn { _lock: lock }))
    }
}

/// Runs `daemon run` detached and waits until it (or a daemon that won the
/// data dir's lock before it) answers.
async fn spawn_and_wait(
    config: &LoadedConfig,
    paths: &DaemonPaths,
    idle_exit_s: u64,
    on_demand: bool,
    deadline: tokio::time::Instant,
) -> Result<DaemonInfo, LinkError> {
    let log_start = std::fs::metadata(&paths.log).map(|m| m.len()).unwrap_or(0);
    let mut child = spawn(config, paths, idle_exit_s, on_demand)?;
    loop {
        if let Some(info) = answering(paths).await {
            return Ok(info);
        }
        if let Ok(Some(status)) = child.try_wait() {
            if status.code() != Some(LOCK_HELD_EXIT) {
                return Err(LinkError::NotStarted(format!(
                    "the daemon exited at start ({status}); its log {} says:\n{}",
                    paths.log.display(),
                    log_tail(&paths.log, log_start)
                )));
            }
            // Ours lost the data dir's lock: to a daemon that answers soon
            // (one started by hand, say), or to one that is stopping. Once
            // the lock is free and nothing answers, try again.
            if !DaemonLock::is_held(paths) && answering(paths).await.is_none() {
                child = spawn(config, paths, idle_exit_s, on_demand)?;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(LinkError::NotStarted(format!(
                "the daemon did not answer within {}s; its log {} says:\n{}",
                START_WAIT.as_secs(),
                paths.log.display(),
                log_tail(&paths.log, log_start)
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Spawns `daemon run` detached (its own process group, stderr to the log).
fn spawn(
    config: &LoadedConfig,
    paths: &DaemonPaths,
    idle_exit_s: u64,
    on_demand: bool,
) -> Result<tokio::process::Child, LinkError> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)
        .map_err(|e| {
            LinkError::io(
                format!("cannot open the daemon log {}", paths.log.display()),
                e,
            )
        })?;
    let exe = std::env::current_exe()
        .map_err(|e| LinkError::io("cannot find this program's own path", e))?;
    let mut command = tokio::process::Command::new(exe);
    // The daemon reads the config this command read (the environment,
    // CLAUDE_COMMS_HOME included, is inherited).
    if config.paths.config_file.is_file() {
        command.arg("--config").arg(&config.paths.config_file);
    }
    command.args(["daemon", "run", "--idle-exit-s", &idle_exit_s.to_string()]);
    if on_demand {
        command.arg("--on-demand");
    }
    if let Some(listen) = &config.config.daemon.listen {
        command.args(["--listen", listen]);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        // Its own process group: the terminal's Ctrl-C is not for it.
        .process_group(0)
        .kill_on_drop(false);
    command
        .spawn()
        .map_err(|e| LinkError::io("cannot start the daemon", e))
}

/// Stops the data dir's daemon: SIGTERM (it interrupts in-flight work
/// cleanly and stops every child), SIGKILL if it has not exited in time.
/// Returns the stopped daemon's pid, or `None` if none was running.
pub async fn stop(config: &LoadedConfig) -> Result<Option<u32>, LinkError> {
    let paths = DaemonPaths::of(config);
    if !DaemonLock::is_held(&paths) {
        return Ok(None);
    }
    let info = DaemonInfo::read(&paths.state).ok_or_else(|| LinkError::StateMissing {
        lock: paths.lock.clone(),
        state: paths.state.clone(),
    })?;
    let pid = nix::unistd::Pid::from_raw(info.pid as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = tokio::time::Instant::now() + STOP_WAIT;
    while DaemonLock::is_held(&paths) || pid_exists(info.pid) {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                pid = info.pid,
                "the daemon did not stop in time; killing it"
            );
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        if tokio::time::Instant::now() >= deadline + STOP_WAIT {
            return Err(LinkError::NotStopped(info.pid));
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(Some(info.pid))
}

/// What `daemon status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonStatus {
    pub running: bool,
    pub pid: Option<u32>,
    pub socket: String,
    pub uptime_s: Option<u64>,
    pub started_at: Option<i64>,
    pub version: Option<String>,
    pub build: Option<String>,
    /// Started on demand (`hub = "auto"`) rather than by hand.
    pub on_demand: Option<bool>,
    /// When the daemon is another version or build than this program:
    /// what that means and the fix.
    pub other_build: Option<String>,
    pub idle_exit_s: Option<u64>,
    /// Resident memory of the daemon process, in KiB.
    pub rss_kib: Option<u64>,
    /// The MCP endpoint for remote hosts, when it listens on TCP.
    pub http_url: Option<String>,
}

pub fn status(config: &LoadedConfig) -> DaemonStatus {
    let paths = DaemonPaths::of(config);
    let info = DaemonLock::is_held(&paths)
        .then(|| DaemonInfo::read(&paths.state))
        .flatten();
    match info {
        Some(info) => DaemonStatus {
            other_build: super::build::is_other_build(&info).then(|| super::build::note(&info)),
            running: true,
            pid: Some(info.pid),
            socket: info.socket,
            uptime_s: Some(((crate::time::now_ms() - info.started_at).max(0) / 1000) as u64),
            started_at: Some(info.started_at),
            version: Some(info.version),
            build: Some(info.build),
            on_demand: Some(info.on_demand),
            idle_exit_s: Some(info.idle_exit_s),
            rss_kib: crate::instances::memory::process_rss_kib(info.pid),
            http_url: info.http_url,
        },
        None => DaemonStatus {
            running: false,
            pid: None,
            socket: paths.socket.display().to_string(),
            uptime_s: None,
            started_at: None,
            version: None,
            build: None,
            on_demand: None,
            other_build: None,
            idle_exit_s: None,
            rss_kib: None,
            http_url: None,
        },
    }
}

fn log_tail(path: &std::path::Path, from: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = from.max(len.saturating_sub(LOG_TAIL_BYTES));
    let _ = file.seek(std::io::SeekFrom::Start(start));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    text
}
