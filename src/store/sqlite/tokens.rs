//! Access tokens of remote hosts: a row per token, holding a hash of its
//! secret (never the secret), what it may act as, and when it stops
//! working. Plain columns and portable SQL only, so a PostgreSQL store can
//! hold the same table.

use rusqlite::{OptionalExtension, params};

use super::records::{NewToken, TokenRecord};
use super::{Result, SqliteStore, StoreError};

use crate::store::columns::TOKEN_COLUMNS;

fn token_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.get(0)?,
        secret_hash: row.get(1)?,
        module: row.get(2)?,
        admin: row.get::<_, i64>(3)? != 0,
        label: row.get(4)?,
        created_at: row.get(5)?,
        expires_at: row.get(6)?,
        revoked_at: row.get(7)?,
        last_used_at: row.get(8)?,
        expired: row
            .get::<_, Option<i64>>(6)?
            .is_some_and(|at| at <= crate::store::now_ms()),
    })
}

impl SqliteStore {
    pub fn insert_token(&self, token: &NewToken) -> Result<TokenRecord> {
        super::limits::check_len("token label", token.label.as_deref().unwrap_or(""), 200)?;
        let now = super::now_ms();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO access_tokens (id, secret_hash, module, admin, label, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    token.id,
                    token.secret_hash,
                    token.module,
                    token.admin as i64,
                    token.label,
                    now,
                    token.lifetime_ms.map(|ms| now.saturating_add(ms))
                ],
            )?;
            Ok(())
        })?;
        self.token(&token.id)?
            .ok_or_else(|| StoreError::NotCommitted(format!("token {} was not stored", token.id)))
    }

    pub fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE id = ?1"
                ))?
                .query_row([id], token_from_row)
                .optional()?)
        })
    }

    /// Every token, newest first (revoked and expired ones included: the
    /// operator sees what once had access).
    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM access_tokens ORDER BY created_at DESC, id"
            ))?;
            let rows = statement.query_map([], token_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Marks a token revoked; false when it was already revoked. An
    /// unknown id is an error that names it.
    pub fn revoke_token(&self, id: &str) -> Result<bool> {
        let now = super::now_ms();
        let changed = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE access_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now],
            )?)
        })?;
        if changed == 0 && self.token(id)?.is_none() {
            return Err(crate::store::rules::unknown_token(id));
        }
        Ok(changed > 0)
    }

    /// Records when a token was last used.
    pub fn touch_token(&self, id: &str, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE access_tokens SET last_used_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            Ok(())
        })
    }
}
