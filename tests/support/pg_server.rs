//! The machine's PostgreSQL server binaries, as the throw-away clusters of
//! `pg_cluster.rs` use them: where they are, which user runs them, the
//! template data directory every cluster is copied from, and the clean-up
//! of clusters that a killed test process left running.
//!
//! `initdb` is the slow step (about 0.7 s), and its result depends only on
//! the binaries and its arguments: it runs once into a template under
//! Cargo's target tmp dir, keyed by both, and every cluster is a copy of
//! it (about 0.1 s). The template is a build cache like the rest of
//! target/, reused by the next run, never a leftover in /tmp.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// What `initdb` is run with. Part of the template's key: changing it
/// makes a new template. `--locale=C` makes text order byte order (as in
/// SQLite) whatever the machine's environment says.
const INITDB_ARGS: &[&str] = &[
    "-A",
    "trust",
    "-U",
    "comms",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C",
];

/// The prefix of every cluster's folder in the temp dir; the pid of the
/// test process that owns it follows, so that a later process can tell a
/// dead owner's leftovers (see [`stop_orphans`]).
pub const CLUSTER_DIR_PREFIX: &str = "claude-comms-pg-";

/// The server binaries, found once per test process.
pub struct Server {
    pub bin: PathBuf,
    /// Root runs the binaries as this user: `initdb` and `postgres`
    /// refuse to run as root.
    pub run_as: Option<&'static str>,
    /// A data directory straight from `initdb`, never started.
    pub template: PathBuf,
}

/// Why there is no server: binaries missing (the tier may be skipped), or
/// found but not working (always a failure).
pub enum NoServer {
    Missing(String),
    Broken(String),
}

impl Server {
    /// The server, set up on first use (binaries found, orphans stopped,
    /// template made).
    pub fn get() -> Result<&'static Server, &'static NoServer> {
        static SERVER: OnceLock<Result<Server, NoServer>> = OnceLock::new();
        SERVER.get_or_init(Server::set_up).as_ref()
    }

    fn set_up() -> Result<Server, NoServer> {
        let bin = find_bin_dir().ok_or_else(|| {
            NoServer::Missing(
                "PostgreSQL's server binaries (initdb, pg_ctl, postgres) are not installed: \
                 install Debian's package `postgresql` \
                 (apt-get install --no-install-recommends postgresql), \
                 or put a PostgreSQL bin directory on PATH"
                    .to_string(),
            )
        })?;
        let run_as = if running_as_root() {
            if !user_exists("postgres") {
                return Err(NoServer::Missing(
                    "running as root, and there is no `postgres` user to run PostgreSQL as \
                     (initdb refuses root): install Debian's package `postgresql`, which creates it, \
                     or run the tests as another user"
                        .to_string(),
                ));
            }
            Some("postgres")
        } else {
            None
        };
        let mut server = Server {
            bin,
            run_as,
            template: PathBuf::new(),
        };
        stop_orphans(&server);
        server.template = server.template().map_err(NoServer::Broken)?;
        Ok(server)
    }

    /// A command that runs the server binary `name` as the right user,
    /// in `dir` (the user must be able to enter the current directory).
    pub fn command(&self, name: &str, dir: &Path) -> Command {
        let program = self.bin.join(name);
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        command
            .current_dir(dir)
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST");
        command
    }

    /// Makes `dir` (just created by this process) the run-as user's.
    pub fn hand_over(&self, dir: &Path) -> Result<(), String> {
        let Some(user) = self.run_as else {
            return Ok(());
        };
        let mut chown = Command::new("chown");
        chown.arg(format!("{user}:")).arg(dir);
        run(&mut chown).map(drop)
    }

    /// The template data dir, made by `initdb` unless an earlier test
    /// process made it for the same binaries, arguments and user.
    fn template(&self) -> Result<PathBuf, String> {
        let version = run(Command::new(self.bin.join("postgres")).arg("--version"))?;
        let key = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            // The user too: a template another user made may not be
            // readable here.
            let user = (effective_uid(), self.run_as);
            (
                String::from_utf8_lossy(&version.stdout),
                &self.bin,
                INITDB_ARGS,
                user,
            )
                .hash(&mut hasher);
            hasher.finish()
        };
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let template = cache.join(format!("pg-template-{key:016x}"));
        if template.join("PG_VERSION").exists() {
            return Ok(template);
        }
        // initdb writes as the run-as user, who may not enter target/: it
        // runs in a folder of its own in the temp dir, and the result is
        // copied next to the template and renamed into place (a rename is
        // atomic: a concurrent test process sees all of it or nothing).
        let scratch = tempfile::Builder::new()
            .prefix("claude-comms-initdb-")
            .tempdir()
            .map_err(|e| format!("a temp dir for initdb: {e}"))?;
        self.hand_over(scratch.path())?;
        let data = scratch.path().join("data");
        run(self
            .command("initdb", scratch.path())
            .arg("-D")
            .arg(&data)
            .args(INITDB_ARGS))?;
        std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
        let staged = cache.join(format!("pg-template-{key:016x}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staged);
        copy_tree(&data, &staged)?;
        if std::fs::rename(&staged, &template).is_err() {
            // Another test process put its template there first.
            let _ = std::fs::remove_dir_all(&staged);
        }
        if template.join("PG_VERSION").exists() {
            Ok(template)
        } else {
            Err(format!("the template {} was not made", template.display()))
        }
    }
}

/// Copies a data directory keeping modes and owners (PostgreSQL wants its
/// data dir to be its own, mode 0700).
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    run(Command::new("cp").arg("-a").arg(from).arg(to)).map(drop)
}

/// Runs `command` to its end; its output, or an error that quotes it.
pub fn run(command: &mut Command) -> Result<Output, String> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{command:?}: {}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The newest of Debian's `/usr/lib/postgresql/<major>/bin`, else
/// `pg_config --bindir`, else the directory on PATH that has `initdb`.
fn find_bin_dir() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    debian.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    debian
        .into_iter()
        .map(|(_, dir)| dir)
        .chain(from_pg_config)
        .chain(on_path)
        .find(|dir| complete(dir))
}

/// This process's effective user (`/proc/self` belongs to it).
fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

fn running_as_root() -> bool {
    effective_uid() == Some(0)
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether a process with this pid exists (a zombie counts: it is gone
/// for every purpose here but its parent's).
pub fn pid_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        !matches!(state, Some("Z" | "X"))
    })
}

/// The pid of the postmaster running on `data`, from its lock file (the
/// first line of `postmaster.pid`); `None` when no server runs there.
pub fn postmaster_pid(data: &Path) -> Option<u32> {
    let lock = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    lock.lines().next()?.trim().parse().ok()
}

/// Where clusters' folders go: RAM (/dev/shm) when it has room, else the
/// temp dir. A cluster's files are written once and thrown away; on a disk
/// busy with builds, copying the template took a second where RAM takes
/// 0.1 s.
pub fn clusters_root() -> PathBuf {
    const ROOM: u64 = 1 << 30;
    let shm = Path::new("/dev/shm");
    let roomy = nix::sys::statvfs::statvfs(shm)
        .is_ok_and(|s| s.blocks_available().saturating_mul(s.fragment_size()) >= ROOM);
    if roomy {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Stops and removes the clusters of test processes that died without
/// dropping them (killed by a timeout or by hand: no destructor ran).
/// Clusters of live test processes, this one's included, are left alone.
fn stop_orphans(server: &Server) {
    let mut roots = vec![clusters_root(), std::env::temp_dir()];
    roots.dedup();
    let entries = roots
        .iter()
        .filter_map(|root| std::fs::read_dir(root).ok())
        .flatten();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(CLUSTER_DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid_alive(owner) {
            continue;
        }
        let dir = entry.path();
        let data = dir.join("data");
        if let Some(postmaster) = postmaster_pid(&data).filter(|pid| pid_alive(*pid)) {
            let stopped = run(server
                .command("pg_ctl", &dir)
                .args(["stop", "-m", "immediate", "-w", "-D"])
                .arg(&data));
            if let Err(e) = stopped {
                eprintln!("could not stop the orphaned cluster {}: {e}", dir.display());
            }
            if pid_alive(postmaster) {
                continue;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
