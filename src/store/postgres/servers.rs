//! The processes that share the database on PostgreSQL: servers, their
//! instances (rewritten at each heartbeat), and control requests for an
//! instance that another process owns.

use super::cached::Cached;
use deadpool_postgres::GenericClient;

use super::PostgresStore;
use super::flight::DB_NOW_MS;
use super::rows::all;
use crate::host::{pid_exists, this_hostname};
use crate::store::Result;
use crate::store::limits;
use crate::store::model::{InstanceRecord, ServerRecord, ServerRow};
use crate::store::records::ControlRequest;

/// Every server with whether it is alive, by the rule of the SQLite
/// backend: not stopped, heard from within `stale_after_ms`, and (when on
/// this host) its process still exists.
///
/// "Heard from within" is decided by the database's clock, which also
/// stamped every heartbeat: no machine's clock is compared with another's.
pub(super) async fn servers_in(
    client: &impl Cached,
    stale_after_ms: i64,
) -> Result<Vec<ServerRow>> {
    let host = this_hostname();
    let rows = client
        .rows(
            &format!(
                "SELECT id, pid, hostname, module, started_at, last_heartbeat, stopped,
                        last_heartbeat >= {DB_NOW_MS} - $1::bigint
                 FROM servers ORDER BY started_at DESC"
            ),
            &[&stale_after_ms],
        )
        .await?;
    all(rows, |r| {
        let pid: i64 = r.try_get(1)?;
        let record = ServerRecord {
            id: r.try_get(0)?,
            pid: u32::try_from(pid).unwrap_or(0),
            hostname: r.try_get(2)?,
            module: r.try_get(3)?,
            started_at: r.try_get(4)?,
        };
        let last_heartbeat: i64 = r.try_get(5)?;
        let stopped: bool = r.try_get(6)?;
        let fresh: bool = r.try_get(7)?;
        let here_and_running = record.hostname != host || pid_exists(record.pid);
        Ok(ServerRow {
            alive: !stopped && fresh && here_and_running,
            record,
            last_heartbeat,
            stopped,
        })
    })
}

/// The servers registered from this host whose process is gone (only this
/// host can tell: a pid means nothing elsewhere).
pub(super) async fn gone_on_this_host(client: &impl Cached) -> Result<Vec<String>> {
    let rows = client
        .rows(
            "SELECT id, pid FROM servers WHERE hostname = $1 AND NOT stopped",
            &[&this_hostname()],
        )
        .await?;
    let mut gone = Vec::new();
    for row in rows {
        let pid: i64 = row.try_get(1)?;
        if !u32::try_from(pid).map(pid_exists).unwrap_or(false) {
            gone.push(row.try_get(0)?);
        }
    }
    Ok(gone)
}

impl PostgresStore {
    pub async fn register_server(&self, s: &ServerRecord) -> Result<()> {
        limits::check_name("server id", &s.id)?;
        limits::check_name("hostname", &s.hostname)?;
        limits::check_opt_len("module", s.module.as_deref(), limits::MAX_NAME_BYTES)?;
        self.client()
            .await?
            .run(
                &format!(
                    "INSERT INTO servers (id, pid, hostname, module, started_at, last_heartbeat, stopped)
                     VALUES ($1, $2, $3, $4, $5, {DB_NOW_MS}, FALSE)
                     ON CONFLICT (id) DO UPDATE SET pid = EXCLUDED.pid, hostname = EXCLUDED.hostname,
                         module = EXCLUDED.module, started_at = EXCLUDED.started_at,
                         last_heartbeat = EXCLUDED.last_heartbeat, stopped = FALSE"
                ),
                &[&s.id, &i64::from(s.pid), &s.hostname, &s.module, &s.started_at],
            )
            .await?;
        Ok(())
    }

    /// The server's heartbeat (by the database's clock) and its instance
    /// list, in one statement: the rows of instances it no longer has are
    /// deleted, the others written (their ids differ, so the two parts never
    /// touch one row).
    pub async fn heartbeat(&self, server_id: &str, instances: &[InstanceRecord]) -> Result<()> {
        let mut ids = Vec::with_capacity(instances.len());
        let mut records = Vec::with_capacity(instances.len());
        for i in instances {
            let i = InstanceRecord {
                last_error: i
                    .last_error
                    .as_deref()
                    .map(|e| limits::clip(e, limits::MAX_NOTE_BYTES).into_owned()),
                ..i.clone()
            };
            records.push(serde_json::to_string(&i).unwrap_or_else(|_| "{}".into()));
            ids.push(i.id);
        }
        self.client()
            .await?
            .run(
                &format!(
                    "WITH beat AS (
                         UPDATE servers SET last_heartbeat = {DB_NOW_MS} WHERE id = $1),
                     gone AS (
                         DELETE FROM instances WHERE server_id = $1 AND id <> ALL($2::text[]))
                     INSERT INTO instances (server_id, id, record)
                     SELECT $1, t.id, t.record FROM unnest($2::text[], $3::text[]) AS t(id, record)
                     ON CONFLICT (server_id, id) DO UPDATE SET record = EXCLUDED.record"
                ),
                &[&server_id, &ids, &records],
            )
            .await?;
        Ok(())
    }

    pub async fn unregister_server(&self, server_id: &str) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.run("DELETE FROM instances WHERE server_id = $1", &[&server_id])
            .await?;
        tx.run(
            "UPDATE servers SET stopped = TRUE WHERE id = $1",
            &[&server_id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_instances(
        &self,
        stale_after_ms: i64,
    ) -> Result<Vec<(ServerRow, InstanceRecord)>> {
        let client = self.client().await?;
        let servers = servers_in(&client, stale_after_ms).await?;
        let rows = client
            .rows(
                "SELECT server_id, record FROM instances ORDER BY server_id, id",
                &[],
            )
            .await?;
        let rows = all(rows, |r| {
            Ok((r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?))
        })?;
        Ok(crate::store::rules::instances_with_servers(&servers, rows))
    }

    pub async fn request_control(
        &self,
        server_id: &str,
        instance_id: &str,
        action: &str,
    ) -> Result<i64> {
        limits::check_name("server id", server_id)?;
        limits::check_name("instance_id", instance_id)?;
        limits::check_name("action", action)?;
        let row = self
            .client()
            .await?
            .row(
                // The owner is woken by the notice when this commits.
                &format!(
                    "WITH asked AS (
                         INSERT INTO control_requests (server_id, instance_id, action, created_at)
                         VALUES ($1, $2, $3, {DB_NOW_MS}) RETURNING id)
                     SELECT id, pg_notify($4, 'request ' || $1) FROM asked"
                ),
                &[&server_id, &instance_id, &action, &super::listen::CONTROL],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The open control requests of `server_id`, marked taken in the same
    /// statement, so that each is taken once.
    pub async fn take_control_requests(&self, server_id: &str) -> Result<Vec<ControlRequest>> {
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "UPDATE control_requests SET taken_at = {DB_NOW_MS}
                     WHERE server_id = $1 AND taken_at IS NULL
                     RETURNING id, instance_id, action"
                ),
                &[&server_id],
            )
            .await?;
        let mut requests = all(rows, |r| {
            Ok(ControlRequest {
                id: r.try_get(0)?,
                instance_id: r.try_get(1)?,
                action: r.try_get(2)?,
            })
        })?;
        requests.sort_by_key(|r| r.id);
        Ok(requests)
    }

    pub async fn finish_control(&self, id: i64, ok: bool, result: &str) -> Result<()> {
        let result = limits::clip(result, limits::MAX_NOTE_BYTES).into_owned();
        let client = self.client().await?;
        client
            .rows(
                // The asker is woken by the notice when this commits.
                &format!(
                    "WITH done AS (
                         UPDATE control_requests SET done_at = {DB_NOW_MS}, ok = $2, result = $3
                         WHERE id = $1 RETURNING id)
                     SELECT pg_notify($4, 'done ' || id) FROM done"
                ),
                &[&id, &ok, &result, &super::listen::CONTROL],
            )
            .await?;
        client
            .run(
                &format!("DELETE FROM control_requests WHERE done_at < {DB_NOW_MS} - $1::bigint"),
                &[&crate::store::records::CONTROL_KEPT_MS],
            )
            .await?;
        Ok(())
    }

    pub async fn control_result(&self, id: i64) -> Result<Option<(bool, String)>> {
        let row = self
            .client()
            .await?
            .row_opt(
                "SELECT ok, result FROM control_requests WHERE id = $1 AND done_at IS NOT NULL",
                &[&id],
            )
            .await?;
        row.map(|r| -> Result<(bool, String)> {
            let ok: Option<bool> = r.try_get(0)?;
            let result: Option<String> = r.try_get(1)?;
            Ok((ok.unwrap_or(false), result.unwrap_or_default()))
        })
        .transpose()
    }
}
