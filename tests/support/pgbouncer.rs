//! Debian's PgBouncer (1.18) in transaction mode in front of a test
//! cluster: its config in the cluster's folder, run as the server's user
//! on a free loopback port, and killed when dropped (also when the test
//! panics). Without the binary the test says so and skips, unless
//! CLAUDE_COMMS_REQUIRE_REAL=1 (scripts/install-postgres.sh installs it).

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::pg_cluster::{PgCluster, USER};

const BINARY: &str = "/usr/sbin/pgbouncer";

pub struct PgBouncer {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl PgBouncer {
    /// PgBouncer in transaction mode for `database` of `cluster`, at most
    /// `pool_size` server connections, each reset (`DISCARD ALL`) after
    /// every transaction: whatever a client leaves on a connection (a named
    /// prepared statement, a setting) is gone by its next transaction, as
    /// when the pooler hands it another connection, deterministically; `None` (after saying why) when it
    /// is not installed and the test may be skipped.
    pub fn start(cluster: &PgCluster, database: &str, pool_size: u32) -> Option<PgBouncer> {
        if !Path::new(BINARY).is_file() {
            let why = "Debian's pgbouncer is not installed (apt-get install pgbouncer; scripts/install-postgres.sh does)";
            if std::env::var("CLAUDE_COMMS_REQUIRE_REAL").as_deref() == Ok("1") {
                panic!("{why}; CLAUDE_COMMS_REQUIRE_REAL=1 forbids skipping");
            }
            eprintln!("skipped: {why}");
            return None;
        }
        let port = free_port();
        cluster.server_file(
            "userlist.txt",
            format!("\"{USER}\" \"\"\n").as_bytes(),
            0o600,
        );
        let log = cluster.dir().join("pgbouncer.log");
        let ini = format!(
            "[databases]\n\
             {database} = host=127.0.0.1 port={} dbname={database} user={USER}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {}\n\
             pool_mode = transaction\n\
             default_pool_size = {pool_size}\n\
             max_client_conn = 200\n\
             server_reset_query = DISCARD ALL\n\
             server_reset_query_always = 1\n\
             logfile = {}\n",
            cluster.port(),
            cluster.dir().join("userlist.txt").display(),
            log.display(),
        );
        let ini = cluster.server_file("pgbouncer.ini", ini.as_bytes(), 0o600);
        let child = cluster
            .server_user_command(Path::new(BINARY))
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pgbouncer starts");
        let mut bouncer = PgBouncer { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = matches!(bouncer.child.try_wait(), Ok(Some(_)));
            assert!(
                !exited && Instant::now() < deadline,
                "pgbouncer did not start listening: {}",
                bouncer.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(bouncer)
    }

    /// `postgres://comms@127.0.0.1:PORT/DATABASE` through the pooler.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
