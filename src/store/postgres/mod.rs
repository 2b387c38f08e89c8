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

mod ask_back;
mod backend;
mod cached;
mod connect;
mod conninfo;
mod conversations;
mod copy;
mod finish;
mod fleet;
mod fleet_queue;
mod flight;
mod jobs;
mod listen;
mod messages;
mod pool;
mod reads;
mod rows;
mod schema;
mod search;
mod servers;
mod status;
mod text;
mod tls;
mod tokens;

use std::time::Duration;

use deadpool_postgres::Pool;

use super::{Result, StoreError};
pub use connect::{StoreUrl, hide_password, is_postgres_url};
pub use pool::{
    ApplicationConnections, DEFAULT_MAX_CONNECTIONS, PgOptions, PoolStatus, ServerConnections,
};

/// The longest any one store operation may take before its caller is told
/// the database did not answer. Generous for a healthy database (writes
/// take milliseconds), short enough that a person or a host is told.
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(8);

pub struct PostgresStore {
    pool: Pool,
    url: StoreUrl,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// Whether the schema was checked (once, at the first operation, when
    /// `options.lazy`).
    checked: tokio::sync::OnceCell<()>,
    /// `[store]`'s connection settings (see `pool.rs`).
    options: PgOptions,
    /// Where the listener connects: `[store] listen_url`, else `url`
    /// (`None` behind a transaction-mode pooler without `listen_url`:
    /// then the store polls instead).
    listen_url: Option<(StoreUrl, tokio_postgres_rustls::MakeRustlsConnect)>,
    /// Notices of the database (see `listen.rs`), and the task that
    /// listens for them once someone asks.
    notices: tokio::sync::broadcast::Sender<crate::store::fleet::Notice>,
    listener: std::sync::OnceLock<tokio::task::JoinHandle<()>>,
    listener_state: std::sync::Arc<listen::ListenerState>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.get() {
            listener.abort();
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (a URL or a key=value string),
    /// applies the migrations, and keeps a pool of at most
    /// `options.max_connections` connections. Synchronous like the SQLite
    /// open: the first connection is made on a thread of its own, so that
    /// a bad URL is a clear error at start whatever runtime (if any) calls
    /// this.
    pub fn open_with(url: &str, options: &PgOptions) -> Result<PostgresStore> {
        let parse = |url: &str| {
            StoreUrl::parse(url).map_err(|reason| StoreError::Open {
                path: hide_password(url),
                reason,
            })
        };
        let mut url = parse(url)?;
        if let Some(name) = &options.application_name {
            url.default_application_name(name);
        }
        let open_error = |reason: String| StoreError::Open {
            path: url.shown().to_string(),
            reason,
        };
        if options.max_connections == 0 {
            return Err(open_error(
                "[store] max_connections is 0; it must be at least 1".into(),
            ));
        }
        let tls = url.tls.connector().map_err(open_error)?;
        let listen_url = match &options.listen_url {
            Some(listen) => {
                let listen = parse(listen)?;
                let tls = listen.tls.connector().map_err(open_error)?;
                Some((listen, tls))
            }
            None if options.pooler => None,
            None => Some((url.clone(), tls.clone())),
        };
        if !options.lazy {
            let probe_url = url.clone();
            let probe_tls = tls.clone();
            std::thread::spawn(move || -> Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StoreError::Task(e.to_string()))?;
                runtime.block_on(pool::migrate_when_admitted(&probe_url, probe_tls))
            })
            .join()
            .map_err(|_| StoreError::Task("the database check panicked".into()))??;
        }
        let pool = pool::build(&url, tls.clone(), options.max_connections).map_err(open_error)?;
        Ok(PostgresStore {
            pool,
            url,
            tls,
            checked: tokio::sync::OnceCell::new(),
            options: options.clone(),
            listen_url,
            notices: tokio::sync::broadcast::channel(1024).0,
            listener: std::sync::OnceLock::new(),
            listener_state: Default::default(),
        })
    }

    /// Runs `op` within [`OPERATION_TIMEOUT`]; its database errors name
    /// the database.
    pub(crate) async fn bounded<T>(
        &self,
        op: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        // Named prepared statements only on a direct connection (see
        // `cached.rs`).
        let op = cached::with_statements(!self.options.pooler, op);
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
            Some(db) => text::refused_text(db)
                .unwrap_or_else(|| format!("{} ({})", db.message(), db.code().code())),
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
