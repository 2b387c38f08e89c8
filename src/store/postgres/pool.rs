//! The connections of one process, within what the operator allows:
//! at most `[store] max_connections` pooled connections (plus the one
//! listening connection, see `listen.rs`). A request that finds them all
//! busy waits for one, within a bound; a server that refuses a new
//! connection because a limit is reached ("too many connections for
//! role", "sorry, too many clients already": SQLSTATE 53300) is asked
//! again with backoff within the same bound, and then the error names the
//! limit and the setting.

use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Timeouts};
use serde::Serialize;

use super::{PostgresStore, StoreUrl};
use crate::store::{Result, StoreError};

/// SQLSTATE `too_many_connections`: the role's, the database's or the
/// server's connection limit is reached.
pub(super) const TOO_MANY_CONNECTIONS: &str = "53300";

/// The default of `[store] max_connections`: a few concurrent operations
/// of one process; a fleet of ten nodes then uses 10 × (8 + 1) = 90 of
/// PostgreSQL's default 100.
pub const DEFAULT_MAX_CONNECTIONS: usize = 8;

/// A pooled connection idle this long is closed, so that other processes
/// (a CLI beside the daemon) find room under a tight connection limit.
const IDLE_CLOSE: Duration = Duration::from_secs(30);

/// How long one request waits for a connection (a free pooled one, or a
/// new one the server keeps refusing for its limit). Shorter than the
/// operation's own bound, so that the error that ends the wait, which
/// names the limit, is the one the caller sees.
const CONNECTION_WAIT: Duration = Duration::from_secs(6);

/// How the store reaches PostgreSQL, from `[store]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// Pooled connections of this process (the listener is one more).
    pub max_connections: usize,
    /// A transaction-mode pooler (PgBouncer) is in between: statements
    /// are unnamed (nothing outlives a transaction), and LISTEN goes to
    /// `listen_url` or is replaced by polling.
    pub pooler: bool,
    /// A direct connection string for the listener (LISTEN cannot go
    /// through a transaction-mode pooler).
    pub listen_url: Option<String>,
    /// The `application_name` of the connections when the string sets
    /// none (`claude-comms:NODE`, which `fleet status` counts by).
    pub application_name: Option<String>,
    /// Connect (and check the schema) at the first operation rather than
    /// at open: a CLI process that hands its work to the daemon then
    /// takes no connection at all.
    pub lazy: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            pooler: false,
            listen_url: None,
            application_name: None,
            lazy: false,
        }
    }
}

/// This process's connections now (`store status`, `fleet status`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PoolStatus {
    /// Pooled connections running an operation now.
    pub in_use: usize,
    /// Pooled connections open now (in use or idle).
    pub open: usize,
    /// `[store] max_connections`.
    pub max: usize,
    /// Operations waiting for a connection now.
    pub waiting: usize,
    /// `listening`, `connecting`, `not started`, or `polling` (no
    /// listener: a transaction-mode pooler without `listen_url`).
    pub listener: String,
    /// `transaction` when a transaction-mode pooler is in between, else
    /// `none`.
    pub pooler: String,
    /// How the connection is secured (sslmode and what is checked).
    pub tls: String,
}

/// The pool of `url`'s connections, at most `max` of them.
pub(super) fn build(
    url: &StoreUrl,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    max: usize,
) -> std::result::Result<Pool, String> {
    let manager = Manager::from_config(
        url.config.clone(),
        tls,
        ManagerConfig {
            // Fast: a connection the server closed is seen as closed
            // (its task ended) and replaced without a round trip.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(CONNECTION_WAIT))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| format!("cannot set up the connection pool: {e}"))
}

/// Connects once and applies the migrations (`schema.rs`); a server at
/// its connection limit is asked again with backoff for
/// [`CONNECTION_WAIT`], as every connection is.
pub(super) async fn migrate_when_admitted(
    url: &StoreUrl,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
) -> Result<()> {
    let deadline = Instant::now() + CONNECTION_WAIT;
    let mut pause = Duration::from_millis(50);
    loop {
        match super::schema::connect_and_migrate(url, tls.clone()).await {
            Err(StoreError::Open { reason, .. })
                if reason.contains(&format!("({TOO_MANY_CONNECTIONS})"))
                    && Instant::now() + pause < deadline =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Err(StoreError::Open { path, reason })
                if reason.contains(&format!("({TOO_MANY_CONNECTIONS})")) =>
            {
                return Err(StoreError::Open {
                    path,
                    reason: format!(
                        "{reason}; still refused after {} s of retries: the role ({}) or the server is at its connection limit (see [store] max_connections)",
                        CONNECTION_WAIT.as_secs(),
                        url.user()
                    ),
                });
            }
            other => return other,
        }
    }
}

/// Whether `error` is the server refusing a connection for a limit.
pub(super) fn is_too_many(error: &tokio_postgres::Error) -> bool {
    error
        .as_db_error()
        .is_some_and(|db| db.code().code() == TOO_MANY_CONNECTIONS)
}

impl PostgresStore {
    /// A connection from the pool: a free one, a new one, or (all busy)
    /// the next one freed; a server at its connection limit is asked
    /// again with backoff. Within [`CONNECTION_WAIT`]; the error names the
    /// database and, for a limit, the setting.
    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object> {
        if self.options.lazy {
            self.checked
                .get_or_try_init(|| {
                    // Boxed: the check's future is large, and every
                    // operation's future would otherwise hold it.
                    Box::pin(migrate_when_admitted(&self.url, self.tls.clone()))
                })
                .await?;
        }
        self.pool
            .retain(|_, metrics| metrics.last_used() < IDLE_CLOSE);
        let deadline = Instant::now() + CONNECTION_WAIT;
        let mut pause = Duration::from_millis(50);
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let timeouts = Timeouts {
                wait: Some(wait),
                ..self.pool.timeouts()
            };
            let error = match self.pool.timeout_get(&timeouts).await {
                Ok(client) => return Ok(client),
                Err(error) => error,
            };
            let refused = matches!(&error, PoolError::Backend(e) if is_too_many(e));
            if refused && Instant::now() + pause < deadline {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
            return Err(StoreError::Database {
                message: self.pool_failure(error),
            });
        }
    }

    fn pool_failure(&self, error: PoolError) -> String {
        let max = self.options.max_connections;
        let wait = CONNECTION_WAIT.as_secs();
        match error {
            PoolError::Backend(e) if is_too_many(&e) => format!(
                "{}; still refused after {wait} s of retries. This process keeps at most {max} connections ([store] max_connections) plus one listener: keep nodes × (max_connections + 1) below the connection limit of the role ({}) and of the server",
                super::connect::connect_failure(&self.url, &e),
                self.url.user()
            ),
            PoolError::Backend(e) => super::connect::connect_failure(&self.url, &e),
            PoolError::Timeout(_) => format!(
                "{}: all {max} connections of this process ([store] max_connections = {max}) stayed busy for {wait} s (the database is slow, or max_connections is too small for the load)",
                self.url.subject()
            ),
            other => format!("{}: {other}", self.url.subject()),
        }
    }

    /// This process's connections now.
    pub fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            in_use: status.size.saturating_sub(status.available),
            open: status.size,
            max: status.max_size,
            waiting: status.waiting,
            listener: self.listener_state(),
            pooler: if self.options.pooler {
                "transaction".into()
            } else {
                "none".into()
            },
            tls: self.url.tls_shown(),
        }
    }
}

/// Connections as the server sees them (`store status`, `fleet status`).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct ServerConnections {
    /// Connections of claude-comms processes, per `application_name`
    /// (`claude-comms:NODE`): open, and running a statement now.
    pub by_application: Vec<ApplicationConnections>,
    /// Every connection of this role now, claude-comms's or not.
    pub role_open: i64,
    /// The role's `CONNECTION LIMIT` (`None`: no limit).
    pub role_limit: Option<i64>,
    /// The server's `max_connections`.
    pub server_max: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ApplicationConnections {
    pub application_name: String,
    pub open: i64,
    pub active: i64,
}

impl PostgresStore {
    /// The server's count of connections (only this role's sessions show
    /// their application name without extra rights). Behind a pooler these
    /// are the pooler's connections to the server.
    pub async fn server_connections(&self) -> Result<ServerConnections> {
        use super::cached::Cached;
        let client = self.client().await?;
        let rows = client
            .rows(
                "SELECT application_name, count(*)::bigint,
                        count(*) FILTER (WHERE state IS DISTINCT FROM 'idle')::bigint
                 FROM pg_stat_activity
                 WHERE usename = current_user AND application_name LIKE 'claude-comms%'
                 GROUP BY application_name ORDER BY application_name",
                &[],
            )
            .await?;
        let limits = client
            .row(
                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE usename = current_user)::bigint,
                        (SELECT NULLIF(rolconnlimit, -1)::bigint FROM pg_roles WHERE rolname = current_user),
                        current_setting('max_connections')::bigint",
                &[],
            )
            .await?;
        Ok(ServerConnections {
            by_application: rows
                .iter()
                .map(|r| {
                    Ok(ApplicationConnections {
                        application_name: r.try_get(0)?,
                        open: r.try_get(1)?,
                        active: r.try_get(2)?,
                    })
                })
                .collect::<Result<_>>()?,
            role_open: limits.try_get(0)?,
            role_limit: limits.try_get(1)?,
            server_max: limits.try_get(2)?,
        })
    }
}
