//! `store status`: which backend holds the data, where (never with a
//! password), its schema version and what it holds.

use serde::Serialize;

use super::{Hub, HubError};
use crate::store::{PoolStatus, ServerConnections, StoreCounts};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StoreStatus {
    /// `sqlite` or `postgresql`.
    pub backend: String,
    /// The SQLite file, or the PostgreSQL URL without its password.
    pub location: String,
    /// The schema version this claude-comms writes (the database's is in
    /// `schema_version`; they are equal once it has started).
    pub schema_version_known: i64,
    #[serde(flatten)]
    pub counts: StoreCounts,
    /// PostgreSQL: this process's connections (in use / open / max
    /// `[store] max_connections`), its listener, pooler and TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<PoolStatus>,
    /// PostgreSQL: the connections the server sees (claude-comms's per
    /// node, this role's, and the limits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_connections: Option<ServerConnections>,
}

impl Hub {
    pub async fn store_status(&self) -> Result<StoreStatus, HubError> {
        let counts = self.store.counts().await?;
        let server_connections = self.store.server_connections().await?;
        Ok(StoreStatus {
            backend: self.store.backend_name().to_string(),
            location: self.config().store_shown(),
            schema_version_known: crate::store::SCHEMA_VERSION,
            counts,
            connections: self.store.pool_status(),
            server_connections,
        })
    }
}
