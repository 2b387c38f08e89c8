//! Fleet nodes for the end-to-end tests: each node is a throw-away home
//! (CLAUDE_COMMS_HOME and HOME both point into it) whose config.toml says
//! `hub = "auto"`, names the shared PostgreSQL store, the node's name, the
//! folders of the modules it hosts (and no others), and the in-repo fake
//! child as the answering agent. A node's daemon is started and stopped
//! with `claude-comms daemon start | stop`, as an operator would.
//!
//! Nothing is left behind: every process a node's daemon was seen to run
//! is remembered, and dropping the node stops its daemon and kills what
//! still runs of them (also when the test panics). A CLI run in the
//! background ([`Running`]) is killed when dropped unless it ended.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "serve_process.rs"]
pub mod serve_process;

pub use serve_process::{descendants, process_exists};

/// Between two looks at a condition that is polled with a deadline.
const POLL: Duration = Duration::from_millis(50);

/// How a node is configured beyond its name, store and modules.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// `[fleet] lease_s`.
    pub lease_s: u64,
    /// `[fleet] retry_read_only`.
    pub retry_read_only: bool,
    /// The `[instances...]` tables that run the answering agents; `None`:
    /// the in-repo fake child as claude-code-mcp.
    pub instances_toml: Option<String>,
    /// More of the config, appended as it is (`[budgets...]` tables).
    pub extra_toml: String,
    /// `[fleet] slots` (routed questions run at once), when set.
    pub slots: Option<usize>,
    /// More keys of the `[store]` table (`max_connections = 2`).
    pub store_toml: String,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            lease_s: 15,
            retry_read_only: false,
            instances_toml: None,
            extra_toml: String::new(),
            slots: None,
            store_toml: String::new(),
        }
    }
}

/// One node of the fleet: its home, config and (once started) its daemon.
pub struct Node {
    /// Its `[fleet] node` name.
    pub name: String,
    home: tempfile::TempDir,
    /// Every process of this node seen so far (daemon and children), to
    /// end whatever of them outlives the test.
    seen: Mutex<Vec<u32>>,
}

impl Node {
    /// A node named `name` on the store at `url`, hosting `modules` (a
    /// folder for each in its home, and nothing else).
    pub fn new(url: &str, name: &str, modules: &[&str], settings: &NodeSettings) -> Node {
        let home = tempfile::Builder::new()
            .prefix(&format!("fleet-{name}-"))
            .tempdir()
            .expect("a temp dir for the node");
        let mut config = String::from("hub = \"auto\"\n\n[module_paths]\n");
        for module in modules {
            let folder = home.path().join("modules").join(module);
            std::fs::create_dir_all(&folder).expect("the module's folder");
            config.push_str(&format!("{module} = {:?}\n", folder.display().to_string()));
        }
        config.push_str(&format!(
            "\n[store]\nurl = {url:?}\n{}\n\n[fleet]\nnode = {name:?}\nlease_s = {}\nretry_read_only = {}\n\n",
            settings.store_toml, settings.lease_s, settings.retry_read_only,
        ));
        if let Some(slots) = settings.slots {
            config.push_str(&format!("slots = {slots}\n\n"));
        }
        match &settings.instances_toml {
            Some(instances) => config.push_str(instances),
            None => config.push_str(&format!(
                "[instances.claude_code_mcp]\ncommand = {:?}\nargs = []\n",
                env!("CARGO_BIN_EXE_fake-mcp-child"),
            )),
        }
        config.push_str(&format!("\n{}", settings.extra_toml));
        std::fs::write(home.path().join("config.toml"), config).expect("config.toml written");
        Node {
            name: name.to_string(),
            home,
            seen: Mutex::new(Vec::new()),
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// This node's folder of `module` (the fake child's answer names it).
    pub fn folder(&self, module: &str) -> PathBuf {
        self.home.path().join("modules").join(module)
    }

    /// The command `claude-comms ARGS` as this node's user runs it: its
    /// home, its config, the daemon policy `auto`; nothing of the real
    /// home or of the environment of the test.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_claude-comms"));
        command
            .args(args)
            .env("CLAUDE_COMMS_HOME", self.home())
            .env("HOME", self.home())
            .env("CLAUDE_COMMS_HUB", "auto")
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env_remove("CLAUDE_COMMS_STORE_URL")
            .env_remove("CLAUDE_COMMS_MODULE")
            .env_remove("CLAUDE_COMMS_HOP")
            .env_remove("CLAUDE_COMMS_CHAIN")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    /// Runs `claude-comms ARGS` on this node and waits for it.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("claude-comms runs")
    }

    /// Like [`Node::cli`], the command's wall clock shifted by `offset`
    /// with Debian's `faketime` (`+3456000s`), as on a machine whose clock
    /// is off. Whatever it asks the node's daemon, the daemon answers by
    /// its own clock: pair it with [`Node::start_with_clock`].
    pub fn cli_with_clock(&self, offset: &str, args: &[&str]) -> Output {
        let command = self.command(args);
        let mut faked = Command::new("faketime");
        faked
            .arg("-f")
            .arg(offset)
            .arg(command.get_program())
            .args(command.get_args())
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .stdin(Stdio::null());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => faked.env(key, value),
                None => faked.env_remove(key),
            };
        }
        faked.output().expect("faketime runs")
    }

    /// Like [`Node::cli`], in a process of its own without a daemon
    /// (`hub = "embedded"`): a look at the store that starts nothing.
    pub fn cli_without_daemon(&self, args: &[&str]) -> Output {
        self.command(args)
            .env("CLAUDE_COMMS_HUB", "embedded")
            .output()
            .expect("claude-comms runs")
    }

    /// Starts `claude-comms ARGS` on this node without waiting for it.
    pub fn spawn_cli(&self, args: &[&str]) -> Running {
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("claude-comms starts");
        Running {
            child: Some(child),
            what: format!("{} on node {}", args.join(" "), self.name),
        }
    }

    /// Starts `claude-comms ARGS` on this node, a command that runs until
    /// stopped (`instances monitor`), and reads its output as it comes.
    pub fn follow_cli(&self, args: &[&str]) -> Following {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("claude-comms starts");
        let stdout = child.stdout.take().expect("its stdout");
        let (lines, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        Following {
            child,
            received,
            seen: Vec::new(),
            what: format!("{} on node {}", args.join(" "), self.name),
        }
    }

    /// `send --json --from FROM --to TO TEXT` on this node, in the
    /// background.
    pub fn spawn_send(&self, from: &str, to: &str, text: &str) -> Running {
        self.spawn_cli(&["--json", "send", "--from", from, "--to", to, text])
    }

    /// `daemon start`, which must be refused and leave no daemon running;
    /// what it said.
    pub fn start_refused(&self) -> String {
        let refused = self.start();
        let text = said(&refused);
        assert!(!refused.status.success(), "{text}");
        assert_eq!(self.daemon_pid(), None, "the refused daemon is not running");
        text
    }

    /// `daemon start`; its output (the caller decides what it expects).
    pub fn start(&self) -> Output {
        let started = self.cli(&["daemon", "start"]);
        self.remember_processes();
        started
    }

    /// `daemon start --listen 127.0.0.1:0`, which must succeed: the node
    /// also serves hosts on other machines (Streamable HTTP, tokens).
    /// Returns the `host:port` it listens on.
    pub fn start_listening(&self) -> String {
        let started = self.cli(&["--json", "daemon", "start", "--listen", "127.0.0.1:0"]);
        self.remember_processes();
        let info = json_of(&started);
        info["http_url"]
            .as_str()
            .expect("daemon start reports the TCP face")
            .trim_start_matches("http://")
            .trim_end_matches("/mcp")
            .to_string()
    }

    /// `daemon start`, which must succeed; the daemon's pid.
    pub fn start_ok(&self) -> u32 {
        let started = self.start();
        assert!(
            started.status.success(),
            "node {} did not start: {}{}\nits log:\n{}",
            self.name,
            String::from_utf8_lossy(&started.stdout),
            String::from_utf8_lossy(&started.stderr),
            self.log_tail()
        );
        self.daemon_pid().expect("the node's daemon runs")
    }

    /// Runs this node's daemon in the foreground (`daemon run`) under
    /// Debian's `faketime`, its wall clock shifted by `offset` (`+60s`,
    /// `-60s`), as on a machine whose clock is off; returns once the daemon
    /// answers, with its pid. The node's guard stops it like any daemon.
    pub fn start_with_clock(&self, offset: &str) -> u32 {
        let mut command = self.command(&[]);
        let program = command.get_program().to_owned();
        command = Command::new("faketime");
        command
            .arg("-f")
            .arg(offset)
            .arg(program)
            .args(["daemon", "run"])
            .env("CLAUDE_COMMS_HOME", self.home())
            .env("HOME", self.home())
            .env("CLAUDE_COMMS_HUB", "auto")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env_remove("CLAUDE_COMMS_STORE_URL")
            .env_remove("CLAUDE_COMMS_MODULE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut daemon = command.spawn().expect(
            "faketime runs (Debian's package faketime; scripts/install-postgres.sh installs it)",
        );
        let pid = eventually(
            &format!(
                "node {}'s daemon under faketime {offset} to answer",
                self.name
            ),
            Duration::from_secs(30),
            || {
                if let Ok(Some(status)) = daemon.try_wait() {
                    panic!(
                        "node {}'s daemon under faketime exited with {status}: {}",
                        self.name,
                        self.log_tail()
                    );
                }
                self.daemon_pid()
            },
        );
        self.remember_processes();
        // The daemon is not a child the test waits for: its guard stops it
        // (`daemon stop`, then SIGKILL of what remains).
        std::thread::spawn(move || daemon.wait());
        pid
    }

    /// `daemon stop`; its output.
    pub fn stop(&self) -> Output {
        self.remember_processes();
        self.cli(&["daemon", "stop"])
    }

    /// The pid of this node's running daemon, if one runs.
    pub fn daemon_pid(&self) -> Option<u32> {
        let status = self.cli(&["--json", "daemon", "status"]);
        let status: Value = serde_json::from_slice(&status.stdout).ok()?;
        status["daemon"]["pid"].as_u64().map(|p| p as u32)
    }

    /// The daemon and every process under it now, remembered for the end.
    pub fn processes(&self) -> Vec<u32> {
        let Some(pid) = self.daemon_pid() else {
            return Vec::new();
        };
        let mut all = vec![pid];
        all.extend(descendants(pid));
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(all.iter().copied());
        all
    }

    /// Remembers the node's processes now (see [`Node::processes`]).
    pub fn remember_processes(&self) {
        let _ = self.processes();
    }

    /// SIGKILL of the node's daemon, as a machine that dies; returns once
    /// the process is gone. What the daemon ran is remembered first.
    pub fn kill(&self) -> u32 {
        let pid = self.daemon_pid().expect("the node's daemon runs");
        self.remember_processes();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("SIGKILL sent");
        eventually(
            &format!("node {}'s daemon to die", self.name),
            Duration::from_secs(10),
            || (!process_exists(pid)).then_some(()),
        );
        pid
    }

    /// The end of the node's daemon log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.home().join("daemon.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Node {
    /// Stops the daemon, then kills whatever of the node's processes still
    /// runs (a SIGKILLed daemon's children, a daemon that would not stop).
    /// Never panics: it may run while a failed test unwinds.
    fn drop(&mut self) {
        self.remember_processes();
        let _ = self.cli(&["daemon", "stop"]);
        let seen = std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()));
        for pid in seen {
            if process_exists(pid) && runs_one_of_ours(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// Whether `pid` still runs one of this package's programs (a pid that
/// was reused by another program is not ours to kill).
fn runs_one_of_ours(pid: u32) -> bool {
    let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
        return false;
    };
    [
        env!("CARGO_BIN_EXE_claude-comms"),
        env!("CARGO_BIN_EXE_fake-mcp-child"),
    ]
    .iter()
    .any(|ours| exe == Path::new(ours))
}

/// A CLI command running in the background; killed when dropped before it
/// ended.
pub struct Running {
    child: Option<Child>,
    what: String,
}

impl Running {
    /// Its output once it exits; it is killed (and the test fails) when it
    /// has not exited within `within`.
    pub fn finish(mut self, within: Duration) -> Output {
        let deadline = Instant::now() + within;
        let mut child = self.child.take().expect("not finished yet");
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return child.wait_with_output().expect("its output"),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                _ => {
                    let _ = child.kill();
                    let output = child.wait_with_output().expect("its output");
                    panic!(
                        "`{}` did not end within {within:?}; it said: {}{}",
                        self.what,
                        String::from_utf8_lossy(&output.stdout),
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            }
        }
    }

    /// Whether it has exited.
    pub fn has_exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| matches!(c.try_wait(), Ok(Some(_))))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A command that runs until stopped, its output read line by line as it
/// comes; killed when dropped.
pub struct Following {
    child: Child,
    received: std::sync::mpsc::Receiver<String>,
    /// Every line printed so far.
    pub seen: Vec<String>,
    what: String,
}

impl Following {
    /// Reads lines until `wanted` holds for the lines so far; panics naming
    /// `what` (and showing the lines) when `within` passes first.
    pub fn wait_until(&mut self, what: &str, within: Duration, wanted: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + within;
        while !wanted(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.received.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => {
                    let _ = self.child.kill();
                    let mut stderr = String::new();
                    if let Some(mut err) = self.child.stderr.take() {
                        use std::io::Read;
                        let _ = err.read_to_string(&mut stderr);
                    }
                    panic!(
                        "gave up waiting {within:?} for {what} from `{}`; it printed:\n{}\n{stderr}",
                        self.what,
                        self.seen.join("\n")
                    );
                }
            }
        }
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it gives a value; panics naming `what` when
/// `within` has passed first.
pub fn eventually<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting {within:?} for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// The JSON a successful `--json` command printed.
pub fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "--json printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// What a command said, stdout and stderr together.
pub fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The node of `fleet status --json` named `name`, if listed.
pub fn node_in<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
    status["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["name"] == name)
}
