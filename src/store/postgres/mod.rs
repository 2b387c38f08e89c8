//! The PostgreSQL backend of the store: one database that many processes
//! on many machines share. Every PostgreSQL statement of claude-comms
//! lives in this folder, behind [`crate::store::Store`], with the same
//! methods (async here) and the same meaning as the SQLite backend.
//!
//! How the durability rules of `store/mod.rs` are kept here:
//! * every write is one transaction on a pooled connection; writes that
//!   add messages to a conversation first take that conversation's
//!   advisory lock (`flight.rs`), so its sequence numbers stay gapless,
//!   while writers of different conversations never wait for each other
//!   (there is no fleet-wide write lock); followers read in commit order
//!   by the writing transaction's id (`reads.rs`, [`crate::store::MessageCursor`]);
//! * every time that machines compare (heartbeats, leases, liveness) is
//!   the database's clock, never a node's own;
//! * a committed message is PostgreSQL's to keep (its WAL and replicas);
//! * every operation has a bound ([`OPERATION_TIMEOUT`]): a database that
//!   is restarting, gone or cut off fails the request with an error that
//!   names it, never a hang; the pool replaces broken connections, so the
//!   store reconnects by itself once the database is back.

mod cached;
mod connect;
mod conversations;
mod copy;
mod finish;
mod fleet;
mod flight;
mod jobs;
mod listen;
mod messages;
mod reads;
mod rows;
mod schema;
mod search;
mod servers;
mod status;
mod tokens;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use super::{Result, StoreError};
pub use connect::{StoreUrl, hide_password, is_postgres_url};
pub(crate) use copy::PgSnapshot;

/// The longest any one store operation may take before its caller is told
/// the database did not answer. Generous for a healthy database (writes
/// take milliseconds), short enough that a person or a host is told.
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(8);

/// Connections per process: enough for the concurrent senders of one hub,
/// far below PostgreSQL's default `max_connections` (100) for a fleet.
const POOL_SIZE: usize = 16;

pub struct PostgresStore {
    pool: Pool,
    url: StoreUrl,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// Notices of the database (see `listen.rs`), and the task that
    /// listens for them once someone asks.
    notices: tokio::sync::broadcast::Sender<crate::store::fleet::Notice>,
    listener: std::sync::OnceLock<tokio::task::JoinHandle<()>>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.get() {
            listener.abort();
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url`, applies the migrations, and
    /// keeps a pool of connections. Synchronous like the SQLite open: the
    /// first connection is made on a thread of its own, so that a bad URL
    /// is a clear error at start whatever runtime (if any) calls this.
    pub fn open(url: &str) -> Result<PostgresStore> {
        let url = StoreUrl::parse(url).map_err(|reason| StoreError::Open {
            path: hide_password(url),
            reason,
        })?;
        let open_error = |reason: String| StoreError::Open {
            path: url.shown().to_string(),
            reason,
        };
        let tls = connect::tls().map_err(open_error)?;
        let probe_url = url.clone();
        let probe_tls = tls.clone();
        std::thread::spawn(move || -> Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Task(e.to_string()))?;
            runtime.block_on(schema::connect_and_migrate(&probe_url, probe_tls))
        })
        .join()
        .map_err(|_| StoreError::Task("the database check panicked".into()))??;
        let manager = Manager::from_config(
            url.config.clone(),
            tls.clone(),
            ManagerConfig {
                // Fast: a connection the server closed is seen as closed
                // (its task ended) and replaced without a round trip.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(OPERATION_TIMEOUT))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| open_error(format!("cannot set up the connection pool: {e}")))?;
        Ok(PostgresStore {
            pool,
            url,
            tls,
            notices: tokio::sync::broadcast::channel(1024).0,
            listener: std::sync::OnceLock::new(),
        })
    }

    /// A connection from the pool, or an error naming the database.
    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| {
            let cause = match e {
                deadpool_postgres::PoolError::Backend(e) => connect::connect_failure(&self.url, &e),
                deadpool_postgres::PoolError::Timeout(_) => format!(
                    "{}: no connection within {} s (the database is slow, gone or at its connection limit)",
                    self.url.subject(),
                    OPERATION_TIMEOUT.as_secs()
                ),
                other => format!("{}: {other}", self.url.subject()),
            };
            StoreError::Database { message: cause }
        })
    }

    /// Runs `op` within [`OPERATION_TIMEOUT`]; its database errors name
    /// the database.
    pub(crate) async fn bounded<T>(
        &self,
        op: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(OPERATION_TIMEOUT, op).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(StoreError::Database { message })) if !message.contains("PostgreSQL") => {
                Err(StoreError::Database {
                    message: format!("{}: {message}", self.url.subject()),
                })
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::Database {
                message: format!(
                    "{} did not answer within {} s",
                    self.url.subject(),
                    OPERATION_TIMEOUT.as_secs()
                ),
            }),
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        let message = match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => {
                let mut text = e.to_string();
                if let Some(source) = std::error::Error::source(&e) {
                    text = format!("{text}: {source}");
                }
                text
            }
        };
        StoreError::Database { message }
    }
}
