//! `[store]`: where conversations are kept. Nothing set: the SQLite file
//! in the data dir (or `database`), as always. A `postgres://` URL: a
//! PostgreSQL database that many processes and machines share.

use serde::{Deserialize, Serialize};

/// The environment variable that names the store, over the config file.
pub const STORE_URL_ENV: &str = "CLAUDE_COMMS_STORE_URL";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://user@host:5432/db` (`?sslmode=require` for TLS). The
    /// password comes from the URL, `PGPASSWORD` or `~/.pgpass`; it is
    /// never shown. `CLAUDE_COMMS_STORE_URL` wins over this.
    pub url: Option<String>,
}

/// Where the store is, as the config and the environment say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Sqlite(std::path::PathBuf),
    /// The URL as written (it may hold a password: show it only through
    /// [`crate::store::hide_password`]).
    Postgres(String),
}

/// A `[store] url` that is not a PostgreSQL URL is refused at load,
/// naming the value without its password.
pub(super) fn validate(store: &StoreConfig) -> Result<(), String> {
    match &store.url {
        Some(url) if !crate::store::is_postgres_url(url) => Err(format!(
            "store.url `{}` is not a PostgreSQL URL: write postgres://user@host:5432/database, or remove it to keep the SQLite file",
            crate::store::hide_password(url)
        )),
        _ => Ok(()),
    }
}
