//! `[store]`: where conversations are kept. Nothing set: the SQLite file
//! in the data dir (or `database`), as always. A PostgreSQL connection
//! string (a `postgres://` URL or libpq's key=value form): a PostgreSQL
//! database that many processes and machines share, reached with at most
//! `max_connections` pooled connections per process, possibly through a
//! transaction-mode pooler (`pooler`, `listen_url`).

use serde::{Deserialize, Serialize};

/// The environment variable that names the store, over the config file.
pub const STORE_URL_ENV: &str = "CLAUDE_COMMS_STORE_URL";
/// The environment variable for `[store] listen_url`, over the file.
pub const STORE_LISTEN_URL_ENV: &str = "CLAUDE_COMMS_STORE_LISTEN_URL";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://user@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem`,
    /// or `host=db port=5432 user=comms dbname=db`. The password comes
    /// from the string, `PGPASSWORD` or `~/.pgpass`; it is never shown.
    /// `CLAUDE_COMMS_STORE_URL` wins over this.
    pub url: Option<String>,
    /// Pooled connections of each process (the listener is one more):
    /// keep nodes × (max_connections + 1) below the role's and the
    /// server's connection limit.
    pub max_connections: usize,
    /// `none`, or `transaction` when `url` is a transaction-mode pooler
    /// (PgBouncer): no named prepared statements, and LISTEN only through
    /// `listen_url`.
    pub pooler: Pooler,
    /// A direct connection string (not through the pooler) for the
    /// listener; without it, behind a pooler, the store polls about once
    /// a second. `CLAUDE_COMMS_STORE_LISTEN_URL` wins over this.
    pub listen_url: Option<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: None,
            max_connections: crate::store::DEFAULT_MAX_CONNECTIONS,
            pooler: Pooler::None,
            listen_url: None,
        }
    }
}

/// What sits between claude-comms and PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooler {
    /// Nothing, or a pooler in session mode (a session is a connection).
    #[default]
    None,
    /// A session-mode pooler works like a direct connection.
    Session,
    /// A transaction-mode pooler: a session lasts one transaction.
    Transaction,
}

impl StoreConfig {
    /// The connection settings of the PostgreSQL store of node `node`
    /// (its connections are named `claude-comms:NODE`).
    pub fn pg_options(&self, node: &str) -> crate::store::PgOptions {
        crate::store::PgOptions {
            max_connections: self.max_connections,
            pooler: self.pooler == Pooler::Transaction,
            listen_url: self.listen_url.clone(),
            application_name: Some(format!("claude-comms:{node}")),
            lazy: false,
        }
    }
}

/// Where the store is, as the config and the environment say: the
/// store's own type (the store never reads the config).
pub use crate::store::StoreLocation;

/// A `[store] url` or `listen_url` that is not a PostgreSQL connection
/// string is refused at load, naming the value without its password; so
/// is a `max_connections` of 0.
pub(super) fn validate(store: &StoreConfig) -> Result<(), String> {
    for (key, value) in [("url", &store.url), ("listen_url", &store.listen_url)] {
        if let Some(url) = value
            && !crate::store::is_postgres_url(url)
        {
            return Err(format!(
                "store.{key} {} is not a PostgreSQL connection string: write postgres://user@host:5432/database or host=... dbname=...{}",
                shown_for_error(url),
                if key == "url" {
                    ", or remove it to keep the SQLite file"
                } else {
                    ""
                }
            ));
        }
    }
    if store.max_connections == 0 {
        return Err("store.max_connections is 0: it must be at least 1 (the default is 8)".into());
    }
    if store.listen_url.is_some() && store.url.is_none() {
        return Err(
            "store.listen_url is set but store.url is not: listen_url is the direct connection of a PostgreSQL store".into(),
        );
    }
    Ok(())
}

/// A value that is not a connection string: a path or another URL is
/// shown without its password; a key=value text is not shown (it may be
/// a malformed string with a password in it).
fn shown_for_error(value: &str) -> String {
    if value.contains('=') && !value.contains("://") {
        "(not shown: it may hold a password)".into()
    } else {
        format!("`{}`", crate::store::hide_password(value))
    }
}
