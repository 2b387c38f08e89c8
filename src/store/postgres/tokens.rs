//! Access tokens of remote hosts on PostgreSQL (only a hash of each
//! secret is kept, as on SQLite).

use super::PostgresStore;
use super::cached::Cached;
use super::flight::DB_NOW_MS;
use super::rows::{all, token_from_row};
use crate::store::columns::TOKEN_COLUMNS;
use crate::store::records::{NewToken, TokenRecord};
use crate::store::{Result, limits};

/// Whether a token is past its expiry, by the database's clock (the one
/// every node shares), as the column after [`TOKEN_COLUMNS`].
const EXPIRED: &str = "COALESCE(expires_at <= floor(extract(epoch from statement_timestamp()) * 1000)::bigint, FALSE)";

impl PostgresStore {
    pub async fn insert_token(&self, token: &NewToken) -> Result<TokenRecord> {
        limits::check_len("token label", token.label.as_deref().unwrap_or(""), 200)?;
        let row = self
            .client()
            .await?
            .row(
                &format!(
                    "INSERT INTO access_tokens (id, secret_hash, module, admin, label, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, {DB_NOW_MS}, {DB_NOW_MS} + $6::bigint)
                     RETURNING {TOKEN_COLUMNS}, {EXPIRED}"
                ),
                &[
                    &token.id,
                    &token.secret_hash,
                    &token.module,
                    &token.admin,
                    &token.label,
                    &token.lifetime_ms,
                ],
            )
            .await?;
        token_from_row(&row)
    }

    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let row = self
            .client()
            .await?
            .row_opt(
                &format!("SELECT {TOKEN_COLUMNS}, {EXPIRED} FROM access_tokens WHERE id = $1"),
                &[&id],
            )
            .await?;
        row.map(|r| token_from_row(&r)).transpose()
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "SELECT {TOKEN_COLUMNS}, {EXPIRED} FROM access_tokens ORDER BY created_at DESC, id"
                ),
                &[],
            )
            .await?;
        all(rows, token_from_row)
    }

    pub async fn revoke_token(&self, id: &str) -> Result<bool> {
        let changed = self
            .client()
            .await?
            .run(
                &format!(
                    "UPDATE access_tokens SET revoked_at = {DB_NOW_MS} WHERE id = $1 AND revoked_at IS NULL"
                ),
                &[&id],
            )
            .await?;
        if changed == 0 && self.token(id).await?.is_none() {
            return Err(crate::store::rules::unknown_token(id));
        }
        Ok(changed > 0)
    }

    pub async fn touch_token(&self, id: &str, now: i64) -> Result<()> {
        self.client()
            .await?
            .run(
                "UPDATE access_tokens SET last_used_at = $2 WHERE id = $1",
                &[&id, &now],
            )
            .await?;
        Ok(())
    }
}
