//! A throw-away PostgreSQL cluster for tests: a copy of a template data
//! directory (see `pg_server.rs`) in a folder of its own (in /dev/shm when
//! it has room, else in the temp dir), served on a free loopback port with
//! its unix socket in that folder, and stopped and removed when dropped,
//! even when the test panics.
//!
//! Without the server binaries [`PgCluster::start`] says why and returns
//! `None` (the test skips), unless CLAUDE_COMMS_REQUIRE_REAL=1 (as in
//! scripts/test.sh and CI), which makes it a failure that says what to
//! install.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

#[path = "pg_server.rs"]
mod pg_server;

pub use pg_server::pid_alive;
use pg_server::{
    CLUSTER_DIR_PREFIX, NoServer, Server, clusters_root, copy_tree, postmaster_pid, run,
};

/// The role every cluster trusts (made by `initdb -U`).
pub const USER: &str = "comms";

/// How PostgreSQL shuts down (`pg_ctl -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Sessions are ended, then a checkpoint: the clean stop.
    Fast,
    /// Every process quits at once, no checkpoint: a crash, recovered from
    /// the WAL at the next start.
    Immediate,
}

impl Shutdown {
    fn as_str(self) -> &'static str {
        match self {
            Shutdown::Fast => "fast",
            Shutdown::Immediate => "immediate",
        }
    }
}

/// One running (or stopped) cluster; stopped and removed on drop.
pub struct PgCluster {
    server: &'static Server,
    /// Holds `data/`, the server's `log` and its unix socket.
    dir: tempfile::TempDir,
    port: u16,
    running: bool,
}

impl PgCluster {
    /// A new cluster, started; `None` (after saying why) when PostgreSQL
    /// is not installed and the tier may be skipped.
    pub fn start() -> Option<PgCluster> {
        let server = match Server::get() {
            Ok(server) => server,
            Err(NoServer::Missing(why)) => {
                if std::env::var("CLAUDE_COMMS_REQUIRE_REAL").as_deref() == Ok("1") {
                    panic!(
                        "{why}; CLAUDE_COMMS_REQUIRE_REAL=1 forbids skipping the PostgreSQL tier"
                    );
                }
                eprintln!("skipped: {why}");
                return None;
            }
            Err(NoServer::Broken(why)) => panic!("PostgreSQL is installed but fails: {why}"),
        };
        // The owner's pid in the name lets a later test process stop this
        // cluster if this one is killed before it can (see pg_server.rs).
        let dir = tempfile::Builder::new()
            .prefix(&format!("{CLUSTER_DIR_PREFIX}{}-", std::process::id()))
            .tempdir_in(clusters_root())
            .expect("a temp dir for the cluster");
        server
            .hand_over(dir.path())
            .expect("the cluster's dir handed over");
        let mut cluster = PgCluster {
            server,
            dir,
            port: 0,
            running: false,
        };
        copy_tree(&server.template, &cluster.data_dir()).expect("the template copied");
        // A port found free may be taken by another process before the
        // server binds it: then another port is tried.
        let mut failures = Vec::new();
        for _ in 0..5 {
            cluster.port = free_port();
            match cluster.pg_ctl_start() {
                Ok(()) => return Some(cluster),
                Err(e) => failures.push(e),
            }
        }
        panic!(
            "PostgreSQL did not start: {}\nits log:\n{}",
            failures.join("\n"),
            cluster.log_tail()
        );
    }

    /// `postgres://comms@127.0.0.1:PORT/NAME` (the database may not exist).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database; returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        assert!(
            name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "a plain database name, not {name:?}"
        );
        if let Err(e) = self.sql("postgres", &format!("CREATE DATABASE {name}")) {
            panic!(
                "database {name} not created: {e}\nthe server's log:\n{}",
                self.log_tail()
            );
        }
        self.url(name)
    }

    /// Runs `statements` in `database` over TCP with tokio-postgres (the
    /// store's own client); the rows, one a line, fields separated by `|`
    /// (as `psql -At` prints them). It runs on a thread with a runtime of
    /// its own, so that plain tests and async tests alike can call it.
    pub fn sql(&self, database: &str, statements: &str) -> Result<String, String> {
        let (url, statements) = (self.url(database), statements.to_string());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(simple_query(&url, &statements))
        })
        .join()
        .map_err(|_| "the SQL thread panicked".to_string())?
    }

    /// Restarts the server on the same port (`pg_ctl restart -m ...`):
    /// every connection is cut, and the server takes new ones when this
    /// returns.
    pub fn restart(&mut self, mode: Shutdown) {
        let options = self.options();
        let restarted = run(self
            .pg_ctl()
            .args(["restart", "-w", "-m", mode.as_str(), "-o", &options, "-l"])
            .arg(self.log_path()));
        self.running = true;
        if let Err(e) = restarted {
            panic!(
                "PostgreSQL did not restart: {e}\nits log:\n{}",
                self.log_tail()
            );
        }
    }

    /// Stops the server (the database is unreachable until
    /// [`PgCluster::start_again`]).
    pub fn stop(&mut self, mode: Shutdown) {
        if let Err(e) = self.pg_ctl_stop(mode) {
            panic!(
                "PostgreSQL did not stop: {e}\nits log:\n{}",
                self.log_tail()
            );
        }
    }

    /// Starts the stopped server again, on the same port, with its data.
    pub fn start_again(&mut self) {
        if let Err(e) = self.pg_ctl_start() {
            panic!(
                "PostgreSQL did not start again: {e}\nits log:\n{}",
                self.log_tail()
            );
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's own folder (beside `data/`), the server's user's.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` in the cluster's folder, owned by the
    /// server's user with `mode` (a key PostgreSQL reads must be 0600);
    /// its path.
    pub fn server_file(&self, name: &str, contents: &[u8], mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("the file written");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .expect("its mode set");
        self.server.hand_over(&path).expect("the file handed over");
        path
    }

    /// Appends `settings` to postgresql.conf and puts `hba` lines before
    /// the others of pg_hba.conf (the first matching line wins), then
    /// restarts the server with them.
    pub fn reconfigure(&mut self, settings: &str, hba: &str) {
        let conf = self.data_dir().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("postgresql.conf");
        text.push_str(&format!("\n{settings}\n"));
        std::fs::write(&conf, text).expect("postgresql.conf written");
        let hba_file = self.data_dir().join("pg_hba.conf");
        let rest = std::fs::read_to_string(&hba_file).expect("pg_hba.conf");
        std::fs::write(&hba_file, format!("{hba}\n{rest}")).expect("pg_hba.conf written");
        self.restart(Shutdown::Fast);
    }

    /// A command that runs `program` as the server's user (as root, the
    /// user PostgreSQL runs as), in the cluster's folder: exec'd straight
    /// away, so that the child's pid is the program's own.
    pub fn server_user_command(&self, program: &Path) -> std::process::Command {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new(program);
        command.current_dir(self.dir.path());
        if let Some(user) = self.server.run_as {
            let id = |flag: &str| -> u32 {
                let out = std::process::Command::new("id")
                    .args([flag, user])
                    .output()
                    .expect("id runs");
                String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse()
                    .expect("a numeric id")
            };
            command.uid(id("-u")).gid(id("-g"));
        }
        command
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's processes now: the postmaster and its children
    /// (backends, checkpointer, ...). Empty when it is stopped.
    pub fn processes(&self) -> Vec<u32> {
        let Some(postmaster) = postmaster_pid(&self.data_dir()).filter(|p| pid_alive(*p)) else {
            return Vec::new();
        };
        let mut pids = vec![postmaster];
        pids.extend(children_of(postmaster));
        pids
    }

    /// The end of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// The server's settings: this cluster's port, its socket in its own
    /// folder, loopback only, and no fsync (a test database need not
    /// survive a power cut). pg_ctl hands these to a shell: the folder is
    /// quoted.
    fn options(&self) -> String {
        format!(
            "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        )
    }

    fn pg_ctl(&self) -> std::process::Command {
        let mut command = self.server.command("pg_ctl", self.dir.path());
        command.arg("-D").arg(self.data_dir());
        command
    }

    fn pg_ctl_start(&mut self) -> Result<(), String> {
        let options = self.options();
        let started = run(self
            .pg_ctl()
            .args(["start", "-w", "-o", &options, "-l"])
            .arg(self.log_path()));
        self.running = true;
        if started.is_err() {
            // A server that half started must not stay behind.
            let _ = self.pg_ctl_stop(Shutdown::Immediate);
        }
        started.map(drop)
    }

    fn pg_ctl_stop(&mut self, mode: Shutdown) -> Result<(), String> {
        let stopped = run(self.pg_ctl().args(["stop", "-w", "-m", mode.as_str()]));
        if postmaster_pid(&self.data_dir()).is_none_or(|pid| !pid_alive(pid)) {
            self.running = false;
        }
        stopped.map(drop)
    }
}

impl Drop for PgCluster {
    /// Stops the server before its folder goes; never panics (it may run
    /// while a failed test unwinds). If pg_ctl cannot stop it, the
    /// postmaster is killed, and its children follow it.
    fn drop(&mut self) {
        let postmaster = postmaster_pid(&self.data_dir()).filter(|p| pid_alive(*p));
        if !self.running && postmaster.is_none() {
            return;
        }
        if let Err(e) = self.pg_ctl_stop(Shutdown::Immediate) {
            eprintln!("pg_ctl could not stop the test cluster: {e}");
            if let Some(pid) = postmaster.filter(|p| pid_alive(*p)) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// How long a statement of the harness may take, connecting included.
const SQL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Connects to `url`, runs `statements` (the simple query protocol: several
/// statements, no parameters), and prints the rows.
async fn simple_query(url: &str, statements: &str) -> Result<String, String> {
    use tokio_postgres::SimpleQueryMessage;
    let failed = |e: tokio_postgres::Error| match e.as_db_error() {
        Some(db) => format!("{url}: {}", db.message()),
        None => format!("{url}: {e}"),
    };
    let work = async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(failed)?;
        let driver = tokio::spawn(connection);
        let messages = client.simple_query(statements).await.map_err(failed);
        drop(client);
        let _ = driver.await;
        let rows: Vec<String> = messages?
            .iter()
            .filter_map(|message| match message {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("|"),
                ),
                _ => None,
            })
            .collect();
        Ok(rows.join("\n"))
    };
    tokio::time::timeout(SQL_TIMEOUT, work)
        .await
        .map_err(|_| format!("{url}: no answer within {SQL_TIMEOUT:?}"))?
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The live processes whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|ppid| ppid.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .filter(|pid| pid_alive(*pid))
        .collect()
}

/// Whether any process still runs from `dir` (a postmaster's command line
/// names its data dir).
pub fn processes_naming(dir: &Path) -> Vec<u32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.windows(needle.len()).any(|w| w == needle))
        })
        .filter(|pid| pid_alive(*pid))
        .collect()
}
