//! The settings a store is opened with. They are the store's own types:
//! the config module reads them from `config.toml` and the environment and
//! re-exports them; the store never imports the config.

use serde::{Deserialize, Serialize};

use super::PgOptions;

/// SQLite's `synchronous` setting for the WAL journal (`database_sync` in
/// the config): how durable a commit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseSync {
    /// A commit survives a crash of the process.
    Normal,
    /// A commit survives a power cut too, at the cost of waiting for the
    /// disk on every commit.
    Full,
}

/// Where the store is, as the config and the environment say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Sqlite(std::path::PathBuf),
    /// The connection string as written (it may hold a password: show it
    /// only through [`StoreLocation::shown`]), and how to connect.
    Postgres(String, PgOptions),
}
