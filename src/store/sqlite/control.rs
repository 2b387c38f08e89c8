//! Control requests: how an operator in one process asks the server that
//! owns an instance to stop, pause or resume it. The owner polls for rows
//! addressed to it, acts, and writes the result back.

use rusqlite::{OptionalExtension, params};

use super::records::ControlRequest;
use super::{Result, SqliteStore, now_ms};

impl SqliteStore {
    pub fn request_control(&self, server_id: &str, instance_id: &str, action: &str) -> Result<i64> {
        super::limits::check_name("server id", server_id)?;
        super::limits::check_name("instance_id", instance_id)?;
        super::limits::check_name("action", action)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO control_requests (server_id, instance_id, action, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![server_id, instance_id, action, now_ms()],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The open requests for `server_id`, now marked taken.
    pub fn take_control_requests(&self, server_id: &str) -> Result<Vec<ControlRequest>> {
        // Most polls find nothing: look before taking the write lock.
        let any: bool = self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM control_requests WHERE server_id = ?1 AND taken_at IS NULL)")?
                .query_row([server_id], |r| r.get(0))?)
        })?;
        if !any {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let requests = tx
                .prepare_cached(
                    "SELECT id, instance_id, action FROM control_requests WHERE server_id = ?1 AND taken_at IS NULL ORDER BY id",
                )?
                .query_map([server_id], |r| {
                    Ok(ControlRequest {
                        id: r.get(0)?,
                        instance_id: r.get(1)?,
                        action: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            tx.execute(
                "UPDATE control_requests SET taken_at = ?2 WHERE server_id = ?1 AND taken_at IS NULL",
                params![server_id, now_ms()],
            )?;
            Ok(requests)
        })
    }

    pub fn finish_control(&self, id: i64, ok: bool, result: &str) -> Result<()> {
        let result = super::limits::clip(result, super::limits::MAX_NOTE_BYTES);
        self.write(|tx| {
            tx.execute(
                "UPDATE control_requests SET done_at = ?2, ok = ?3, result = ?4 WHERE id = ?1",
                params![id, now_ms(), ok, result],
            )?;
            tx.execute(
                "DELETE FROM control_requests WHERE done_at < ?1",
                [now_ms() - super::records::CONTROL_KEPT_MS],
            )?;
            Ok(())
        })
    }

    /// `(ok, text)` once the owner has acted.
    pub fn control_result(&self, id: i64) -> Result<Option<(bool, String)>> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT ok, result FROM control_requests WHERE id = ?1 AND done_at IS NOT NULL",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
        })
    }
}
