//! A child process in its own process group: spawned without a shell, its
//! stderr kept in a ring buffer, its exit published, and its whole tree
//! ended on stop (npx -> node -> claude would otherwise leave orphans).

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{broadcast, watch};
use tokio_util::task::TaskTracker;

use super::lines::BoundedLines;

/// Lines of stderr kept per instance for `instance_status` and errors.
pub const STDERR_LINES_KEPT: usize = 200;

/// How long a child may take to exit after SIGTERM before it is killed.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// Something that happened to an instance, for `instances monitor`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InstanceEvent {
    pub instance_id: String,
    pub at_ms: i64,
    /// `stderr`, `state`, `request`, `exit`.
    pub kind: String,
    pub text: String,
}

/// An event journal file is started afresh when it grows past this, so a
/// chatty child cannot fill the disk.
const JOURNAL_MAX_BYTES: u64 = 4 << 20;

/// Longest stderr line kept; a longer one keeps its head and its tail.
pub const STDERR_LINE_MAX: usize = 8 << 10;

/// Recent stderr lines and the event stream of one instance. Events also
/// go to a journal file (one JSON object per line) when the manager has an
/// event folder, so `claude-comms instances monitor` in another process can
/// follow them. Secrets are redacted before anything is kept.
pub struct StderrLog {
    instance_id: String,
    lines: Mutex<VecDeque<String>>,
    events: broadcast::Sender<InstanceEvent>,
    journal: Option<Arc<std::path::PathBuf>>,
    redactor: Arc<crate::redact::Redactor>,
}

impl StderrLog {
    pub fn new(
        instance_id: &str,
        event_dir: Option<&std::path::Path>,
        redactor: Arc<crate::redact::Redactor>,
    ) -> Arc<StderrLog> {
        let (events, _) = broadcast::channel(256);
        let journal = event_dir.map(|dir| Arc::new(journal_path(dir, instance_id)));
        Arc::new(StderrLog {
            instance_id: instance_id.to_string(),
            lines: Mutex::new(VecDeque::new()),
            events,
            journal,
            redactor,
        })
    }

    fn journal(&self, event: &InstanceEvent) {
        let Some(path) = &self.journal else { return };
        if let Ok(mut line) = serde_json::to_vec(event) {
            line.push(b'\n');
            journal_writer::append(path.clone(), line);
        }
    }

    pub fn push(&self, line: String) {
        let line = self.redactor.redact(&line).into_owned();
        {
            let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
            if lines.len() == STDERR_LINES_KEPT {
                lines.pop_front();
            }
            lines.push_back(line.clone());
        }
        self.event("stderr", line);
    }

    pub fn event(&self, kind: &str, text: String) {
        let text = self.redactor.redact(&text).into_owned();
        let event = InstanceEvent {
            instance_id: self.instance_id.clone(),
            at_ms: crate::time::now_ms(),
            kind: kind.to_string(),
            text,
        };
        self.journal(&event);
        let _ = self.events.send(event);
    }

    pub fn tail(&self, n: usize) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines
            .iter()
            .skip(lines.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<InstanceEvent> {
        self.events.subscribe()
    }
}

/// Where the event journal of an instance is kept.
pub fn journal_path(event_dir: &std::path::Path, instance_id: &str) -> std::path::PathBuf {
    event_dir.join(format!("{instance_id}.jsonl"))
}

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl std::fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit code {code}"),
            (None, Some(sig)) => write!(f, "killed by signal {sig}"),
            _ => f.write_str("exited"),
        }
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Launch {
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<std::path::PathBuf>,
}

/// A running child and the handles to its stdio.
pub struct ChildProcess {
    pub pid: u32,
    pub stdin: Option<ChildStdin>,
    pub stdout: Option<ChildStdout>,
    exit: watch::Receiver<Option<ExitInfo>>,
    /// Becomes true once the rest of the child's group is gone too.
    reaped: watch::Receiver<bool>,
    /// Becomes true once every stderr line the child wrote is in the log.
    stderr_drained: watch::Receiver<bool>,
}

impl ChildProcess {
    /// Starts `launch` in a new process group. stderr lines go to `log`.
    pub fn spawn(
        launch: &Launch,
        log: Arc<StderrLog>,
        tasks: &TaskTracker,
    ) -> std::io::Result<ChildProcess> {
        // Only a process that starts children reaps their leftovers (a hub
        // that hands its work to the daemon never becomes a subreaper).
        become_subreaper();
        let mut command = tokio::process::Command::new(&launch.command);
        command
            .args(&launch.args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cwd) = &launch.cwd {
            command.current_dir(cwd);
        }
        // Its own process group, led by the child: the whole tree it starts
        // can be signalled at once.
        command.process_group(0);
        let mut child = command.spawn().map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot start `{}`: {e}", launch.command))
        })?;
        let pid = child.id().unwrap_or(0);
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let (drained_tx, drained_rx) = watch::channel(false);
        if let Some(stderr) = child.stderr.take() {
            let log = log.clone();
            tasks.spawn(async move {
                let mut lines = BoundedLines::new(stderr, STDERR_LINE_MAX);
                while let Ok(Some(line)) = lines.next_line().await {
                    log.push(line.into_text());
                }
                let _ = drained_tx.send(true);
            });
        } else {
            let _ = drained_tx.send(true);
        }
        let (exit_tx, exit_rx) = watch::channel(None);
        let (reaped_tx, reaped_rx) = watch::channel(false);
        tasks.spawn(async move {
            let info = match child.wait().await {
                Ok(status) => {
                    use std::os::unix::process::ExitStatusExt;
                    ExitInfo {
                        code: status.code(),
                        signal: status.signal(),
                    }
                }
                Err(_) => ExitInfo {
                    code: None,
                    signal: None,
                },
            };
            log.event("exit", info.to_string());
            let _ = exit_tx.send(Some(info));
            // Whatever the child left running in its group (a `claude` CLI
            // mid-request under a killed claude-code-mcp) goes with it, and is
            // reaped here (we are their subreaper): no orphans, no zombies.
            kill_group(pid, Signal::SIGKILL);
            reap_group(pid).await;
            let _ = reaped_tx.send(true);
        });
        Ok(ChildProcess {
            pid,
            stdin,
            stdout,
            exit: exit_rx,
            reaped: reaped_rx,
            stderr_drained: drained_rx,
        })
    }

    /// Waits (at most `within`) until the child has exited and everything
    /// it wrote on stderr has been read into the log: a start failure can
    /// then quote the child's last words instead of racing them.
    pub async fn settle(&self, within: std::time::Duration) {
        let mut exit = self.exit.clone();
        let mut drained = self.stderr_drained.clone();
        let _ = tokio::time::timeout(within, async {
            let _ = exit.wait_for(|e| e.is_some()).await;
            let _ = drained.wait_for(|done| *done).await;
        })
        .await;
    }

    pub fn exit_watch(&self) -> watch::Receiver<Option<ExitInfo>> {
        self.exit.clone()
    }

    pub fn has_exited(&self) -> Option<ExitInfo> {
        self.exit.borrow().clone()
    }

    /// Ends the child's whole process group: SIGTERM, then SIGKILL after a
    /// short grace. Returns once the group leader has been reaped.
    pub async fn stop(&self) -> Option<ExitInfo> {
        let info = stop_group(self.pid, self.exit.clone()).await;
        let mut reaped = self.reaped.clone();
        let _ = tokio::time::timeout(REAP_TIMEOUT, reaped.wait_for(|r| *r)).await;
        info
    }
}

/// Ends a process group and waits for its leader's exit to be published.
pub async fn stop_group(pid: u32, mut exit: watch::Receiver<Option<ExitInfo>>) -> Option<ExitInfo> {
    if let Some(info) = exit.borrow().clone() {
        kill_group(pid, Signal::SIGKILL);
        return Some(info);
    }
    kill_group(pid, Signal::SIGTERM);
    let exited = tokio::time::timeout(TERM_GRACE, exit.wait_for(|e| e.is_some()))
        .await
        .is_ok();
    // Grandchildren may ignore SIGTERM even when the leader exits: always finish with SIGKILL.
    kill_group(pid, Signal::SIGKILL);
    if !exited {
        let _ = tokio::time::timeout(TERM_GRACE, exit.wait_for(|e| e.is_some())).await;
    }
    exit.borrow().clone()
}

/// How long the leftovers of a dead child's group may take to be reaped.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes this process the reaper of its orphaned descendants (Linux), so
/// that the leftovers of a child that died are reparented to us, and
/// [`reap_group`] can collect them instead of leaving zombies to an init
/// that may not reap (containers often run without one).
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
                tracing::warn!(error = %e, "cannot become a child subreaper; orphans of dead children go to init");
            }
        });
    }
}

/// Reaps the members of process group `pgid` that were reparented to us
/// after its leader died. Waits only on that group, so the statuses of
/// other children (which tokio collects) are never taken.
async fn reap_group(pgid: u32) {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    if pgid <= 1 {
        return;
    }
    let deadline = tokio::time::Instant::now() + REAP_TIMEOUT;
    loop {
        match waitpid(Pid::from_raw(-(pgid as i32)), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {
                if tokio::time::Instant::now() >= deadline {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(_) => {}       // Reaped one; look for more.
            Err(_) => return, // ECHILD: none of the group is ours (any more).
        }
    }
}

pub(super) fn kill_group(pid: u32, signal: Signal) {
    if pid > 1 {
        // ESRCH (already gone) is the normal case after the leader exited.
        let _ = killpg(Pid::from_raw(pid as i32), signal);
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // Never leave a tree behind, even on an unexpected drop path.
        if self.exit.borrow().is_none() {
            kill_group(self.pid, Signal::SIGKILL);
        }
    }
}

/// The one thread that writes every instance's event journal, so no async
/// worker ever waits on the disk. Writes are best-effort: when the thread
/// falls behind by [`journal_writer::BACKLOG`] events, newer ones are
/// dropped from the journal (the live event stream still has them).
mod journal_writer {
    use std::collections::HashMap;
    use std::io::Write;
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::OnceLock;
    use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

    use super::JOURNAL_MAX_BYTES;

    /// Events waiting to be written, at most.
    pub const BACKLOG: usize = 4096;
    /// Journals kept open at once; past this the writer closes them all.
    const OPEN_FILES: usize = 256;

    type JournalLine = (Arc<PathBuf>, Vec<u8>);

    fn sender() -> Option<&'static SyncSender<JournalLine>> {
        static SENDER: OnceLock<Option<SyncSender<JournalLine>>> = OnceLock::new();
        SENDER
            .get_or_init(|| {
                let (tx, rx) = sync_channel(BACKLOG);
                std::thread::Builder::new()
                    .name("instance-journals".into())
                    .spawn(move || write_all(rx))
                    .map_err(|e| tracing::warn!(error = %e, "cannot start the journal writer"))
                    .ok()
                    .map(|_| tx)
            })
            .as_ref()
    }

    pub fn append(path: Arc<PathBuf>, line: Vec<u8>) {
        if let Some(tx) = sender() {
            let _ = tx.try_send((path, line));
        }
    }

    fn write_all(rx: Receiver<JournalLine>) {
        let mut open: HashMap<Arc<PathBuf>, (std::fs::File, u64)> = HashMap::new();
        while let Ok((path, line)) = rx.recv() {
            if !open.contains_key(&path) {
                if open.len() >= OPEN_FILES {
                    open.clear();
                }
                let opened = path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| {
                        std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(path.as_path())
                    });
                match opened {
                    Ok(file) => {
                        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                        open.insert(path.clone(), (file, len));
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "cannot open the instance event journal");
                        continue;
                    }
                }
            }
            let Some((file, len)) = open.get_mut(&path) else {
                continue;
            };
            if *len > JOURNAL_MAX_BYTES {
                let _ = file.set_len(0);
                *len = 0;
            }
            if file.write_all(&line).is_ok() {
                *len += line.len() as u64;
            }
        }
    }
}
