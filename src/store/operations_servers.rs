//! The store's operations on the processes that share it (servers, their
//! instances, control requests) and on access tokens: one async method
//! each, dispatched to the backend (see `handle.rs`).

use super::Result;
use super::handle::{Store, on_backend};
use super::model::{InstanceRecord, ServerRecord, ServerRow};
use super::records::{ControlRequest, NewToken, StoreCounts, TokenRecord};

impl Store {
    pub async fn register_server(&self, server: &ServerRecord) -> Result<()> {
        let server = server.clone();
        on_backend!(self, |s| s.register_server(&server))
    }

    /// Records that `server_id` is alive, with its instances now.
    pub async fn heartbeat(&self, server_id: &str, instances: Vec<InstanceRecord>) -> Result<()> {
        let id = server_id.to_owned();
        on_backend!(self, |s| s.heartbeat(&id, &instances))
    }

    pub async fn unregister_server(&self, server_id: &str) -> Result<()> {
        let id = server_id.to_owned();
        on_backend!(self, |s| s.unregister_server(&id))
    }

    /// Every instance of every server, with its server judged alive or not.
    pub async fn list_instances(
        &self,
        stale_after_ms: i64,
    ) -> Result<Vec<(ServerRow, InstanceRecord)>> {
        on_backend!(self, |s| s.list_instances(stale_after_ms))
    }

    pub async fn request_control(
        &self,
        server_id: &str,
        instance_id: &str,
        action: &str,
    ) -> Result<i64> {
        let (server, instance) = (server_id.to_owned(), instance_id.to_owned());
        let action = action.to_owned();
        on_backend!(self, |s| s.request_control(&server, &instance, &action))
    }

    pub async fn take_control_requests(&self, server_id: &str) -> Result<Vec<ControlRequest>> {
        let id = server_id.to_owned();
        on_backend!(self, |s| s.take_control_requests(&id))
    }

    pub async fn finish_control(&self, id: i64, ok: bool, result: &str) -> Result<()> {
        let result = result.to_owned();
        on_backend!(self, |s| s.finish_control(id, ok, &result))
    }

    pub async fn control_result(&self, id: i64) -> Result<Option<(bool, String)>> {
        on_backend!(self, |s| s.control_result(id))
    }

    pub async fn insert_token(&self, token: &NewToken) -> Result<TokenRecord> {
        let token = token.clone();
        on_backend!(self, |s| s.insert_token(&token))
    }

    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let id = id.to_owned();
        on_backend!(self, |s| s.token(&id))
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        on_backend!(self, |s| s.tokens())
    }

    /// Revokes a token; false when it does not exist.
    pub async fn revoke_token(&self, id: &str) -> Result<bool> {
        let id = id.to_owned();
        on_backend!(self, |s| s.revoke_token(&id))
    }

    pub async fn touch_token(&self, id: &str, now: i64) -> Result<()> {
        let id = id.to_owned();
        on_backend!(self, |s| s.touch_token(&id, now))
    }

    /// The schema version and the row counts of the main tables.
    pub async fn counts(&self) -> Result<StoreCounts> {
        on_backend!(self, |s| s.counts())
    }

    /// `sqlite` or `postgresql`.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            super::handle::Backend::Sqlite(_) => "sqlite",
            super::handle::Backend::Postgres(_) => "postgresql",
        }
    }
}
