//! `store status`: which backend holds the data, where (never with a
//! password), its schema version and what it holds.

use serde::Serialize;

use super::HubError;
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

impl<'h> crate::hub::Maintenance<'h> {
    pub async fn store_status(self) -> Result<StoreStatus, HubError> {
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

    /// The store's clock (unix ms; the database's on PostgreSQL): where an
    /// age over stored times ("no message for 30 days") starts.
    pub async fn store_clock_ms(self) -> Result<i64, HubError> {
        Ok(self.store.clock_ms().await?)
    }

    /// The permission settings an operator should know about, such as
    /// modules whose agents run with `full` permissions (as `doctor` says).
    pub fn policy_warnings(self) -> Vec<String> {
        let known = self.modules().names();
        crate::policy::report::warnings(&self.config().config, &known)
    }
}
