//! The processes that share the database: each server announces itself,
//! beats, and lists its instances, so other processes can see them and can
//! tell a dead server's leftovers from a live one's work.

use rusqlite::params;

use super::model::{InstanceRecord, ServerRecord, ServerRow};
use super::{Result, SqliteStore, limits, now_ms};
use crate::host::{pid_exists, this_hostname};

/// Every server, newest first, judged alive or not (see [`SqliteStore::list_servers`]).
pub(super) fn servers_in(
    conn: &rusqlite::Connection,
    stale_after_ms: i64,
) -> Result<Vec<ServerRow>> {
    let host = this_hostname();
    let now = now_ms();
    let mut statement = conn.prepare_cached(
        "SELECT id, pid, hostname, module, started_at, last_heartbeat, stopped FROM servers ORDER BY started_at DESC",
    )?;
    let rows = statement
        .query_map([], |r| {
            let record = ServerRecord {
                id: r.get(0)?,
                pid: r.get(1)?,
                hostname: r.get(2)?,
                module: r.get(3)?,
                started_at: r.get(4)?,
            };
            let last_heartbeat: i64 = r.get(5)?;
            let stopped: bool = r.get(6)?;
            Ok((record, last_heartbeat, stopped))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .map(|(record, last_heartbeat, stopped)| {
            let fresh = now - last_heartbeat <= stale_after_ms;
            let here_and_running = record.hostname != host || pid_exists(record.pid);
            ServerRow {
                alive: !stopped && fresh && here_and_running,
                record,
                last_heartbeat,
                stopped,
            }
        })
        .collect())
}

impl SqliteStore {
    pub fn register_server(&self, s: &ServerRecord) -> Result<()> {
        limits::check_name("server id", &s.id)?;
        limits::check_name("hostname", &s.hostname)?;
        limits::check_opt_len("module", s.module.as_deref(), limits::MAX_NAME_BYTES)?;
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO servers (id, pid, hostname, module, started_at, last_heartbeat, stopped)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
                params![s.id, s.pid, s.hostname, s.module, s.started_at, now_ms()],
            )?;
            Ok(())
        })
    }

    /// Records that the server is alive, with its current instances.
    pub fn heartbeat(&self, server_id: &str, instances: &[InstanceRecord]) -> Result<()> {
        // Product-written; an instance's last error may quote a child.
        let instances: Vec<InstanceRecord> = instances
            .iter()
            .map(|i| InstanceRecord {
                last_error: i
                    .last_error
                    .as_deref()
                    .map(|e| limits::clip(e, limits::MAX_NOTE_BYTES).into_owned()),
                ..i.clone()
            })
            .collect();
        self.write(|tx| {
            tx.execute(
                "UPDATE servers SET last_heartbeat = ?2 WHERE id = ?1",
                params![server_id, now_ms()],
            )?;
            tx.execute("DELETE FROM instances WHERE server_id = ?1", [server_id])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO instances (server_id, id, record) VALUES (?1, ?2, ?3)",
            )?;
            for i in &instances {
                let record = serde_json::to_string(i).unwrap_or_else(|_| "{}".into());
                insert.execute(params![server_id, i.id, record])?;
            }
            Ok(())
        })
    }

    /// A clean shutdown: the server is stopped and has no instances.
    pub fn unregister_server(&self, server_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM instances WHERE server_id = ?1", [server_id])?;
            tx.execute("UPDATE servers SET stopped = 1 WHERE id = ?1", [server_id])?;
            Ok(())
        })
    }

    /// Every server, newest first. Alive means: not stopped, a heartbeat
    /// within `stale_after_ms`, and on this host a process with its pid.
    pub fn list_servers(&self, stale_after_ms: i64) -> Result<Vec<ServerRow>> {
        self.read(|conn| servers_in(conn, stale_after_ms))
    }

    /// Every recorded instance with its server.
    pub fn list_instances(&self, stale_after_ms: i64) -> Result<Vec<(ServerRow, InstanceRecord)>> {
        let servers = self.list_servers(stale_after_ms)?;
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT server_id, record FROM instances ORDER BY server_id, id")?;
            let rows = statement
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(crate::store::rules::instances_with_servers(&servers, rows))
        })
    }
}
