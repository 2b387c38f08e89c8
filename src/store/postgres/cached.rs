//! How every statement of the store is sent. Two ways, one interface:
//!
//! * straight to PostgreSQL: statements prepared once per connection.
//!   tokio-postgres prepares an SQL string on every call (a round trip of
//!   its own before the one that runs it); deadpool keeps prepared
//!   statements per connection, so from the second call on a statement
//!   costs one round trip. Every statement of the store is one of a fixed
//!   set (dynamic parts are column lists and optional filters), so the
//!   cache stays small.
//! * through a transaction-mode pooler (PgBouncer 1.18 and the like): a
//!   named statement lives on one server connection, which the pooler
//!   hands to another client after the transaction ("prepared statement
//!   \"s2\" already exists"). There every statement is unnamed, sent with
//!   its parameters' types in the same round trip (`query_typed`), so
//!   nothing outlives it.
//!
//! Which way is the store's choice (`[store] pooler`), handed down to the
//! statements of one operation by [`with_statements`]; where no store said
//! (a path outside [`super::PostgresStore::bounded`]), statements are
//! unnamed, which works everywhere.
//!
//! Both ways escape every text parameter (see `text.rs`), so PostgreSQL
//! never sees a NUL.

use deadpool_postgres::GenericClient;
use tokio_postgres::GenericClient as _;
use tokio_postgres::Row;
use tokio_postgres::types::{Format, IsNull, ToSql, Type, WrongType};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

tokio::task_local! {
    /// Whether this operation may use named prepared statements.
    static PREPARED: bool;
}

/// Runs `op` with named prepared statements allowed (`true`: a direct
/// connection) or not (a transaction-mode pooler).
pub(super) async fn with_statements<T>(prepared: bool, op: impl Future<Output = T>) -> T {
    PREPARED.scope(prepared, op).await
}

pub(super) fn prepared_allowed() -> bool {
    PREPARED.try_with(|p| *p).unwrap_or(false)
}

/// The two clients a statement runs on: a pooled connection, or a
/// transaction on one. Gives the tokio-postgres client underneath, which
/// has the unnamed (`*_typed`) calls deadpool's trait lacks.
pub(super) trait Plain {
    type Inner: tokio_postgres::GenericClient + Sync;
    fn plain(&self) -> &Self::Inner;
}

impl Plain for deadpool_postgres::Object {
    type Inner = tokio_postgres::Client;
    fn plain(&self) -> &tokio_postgres::Client {
        self
    }
}

impl<'a> Plain for deadpool_postgres::Transaction<'a> {
    type Inner = tokio_postgres::Transaction<'a>;
    fn plain(&self) -> &tokio_postgres::Transaction<'a> {
        self
    }
}

#[allow(
    async_fn_in_trait,
    reason = "used only inside the store, on concrete clients"
)]
pub(super) trait Cached: GenericClient + Plain {
    /// Every row `sql` returns.
    async fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
        if prepared_allowed() {
            let statement = self.prepare_cached(sql).await?;
            let escaped = escaped(params);
            self.query(&statement, &refs(&escaped)).await
        } else {
            let typed = typed(params);
            self.plain().query_typed(sql, &typed_refs(&typed)).await
        }
    }

    /// The one row `sql` returns (an error when it returns another number).
    async fn row(&self, sql: &str, params: Params<'_>) -> Result<Row, tokio_postgres::Error> {
        if prepared_allowed() {
            let statement = self.prepare_cached(sql).await?;
            let escaped = escaped(params);
            self.query_one(&statement, &refs(&escaped)).await
        } else {
            let typed = typed(params);
            self.plain().query_typed_one(sql, &typed_refs(&typed)).await
        }
    }

    /// The row `sql` returns, if any.
    async fn row_opt(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        if prepared_allowed() {
            let statement = self.prepare_cached(sql).await?;
            let escaped = escaped(params);
            self.query_opt(&statement, &refs(&escaped)).await
        } else {
            let typed = typed(params);
            self.plain().query_typed_opt(sql, &typed_refs(&typed)).await
        }
    }

    /// Runs `sql`; how many rows it changed.
    async fn run(&self, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
        if prepared_allowed() {
            let statement = self.prepare_cached(sql).await?;
            let escaped = escaped(params);
            self.execute(&statement, &refs(&escaped)).await
        } else {
            let typed = typed(params);
            self.plain().execute_typed(sql, &typed_refs(&typed)).await
        }
    }
}

impl<T: GenericClient + Plain> Cached for T {}

/// A parameter whose text, if it is one, is escaped (see `text.rs`).
#[derive(Debug)]
pub(super) struct Escaped<'a>(&'a (dyn ToSql + Sync));

impl ToSql for Escaped<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let start = out.len();
        let null = self.0.to_sql_checked(ty, out)?;
        if matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR) {
            super::text::escape_bytes(out, start);
        }
        Ok(null)
    }

    fn accepts(_: &Type) -> bool {
        // The wrapped value checks its own type in `to_sql_checked`.
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.to_sql(ty, out)
    }

    fn encode_format(&self, ty: &Type) -> Format {
        self.0.encode_format(ty)
    }
}

pub(super) fn escaped<'a>(params: Params<'a>) -> Vec<Escaped<'a>> {
    params.iter().map(|p| Escaped(*p)).collect()
}

pub(super) fn refs<'a>(escaped: &'a [Escaped<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    escaped.iter().map(|e| e as &(dyn ToSql + Sync)).collect()
}

/// The types an unnamed statement declares, in the order tried: the
/// Rust types the store binds (strings, integers, booleans, floats and
/// arrays of them), each to the PostgreSQL type it accepts first.
const CANDIDATES: &[Type] = &[
    Type::TEXT,
    Type::INT8,
    Type::INT4,
    Type::BOOL,
    Type::FLOAT8,
    Type::INT2,
    Type::FLOAT4,
    Type::BYTEA,
    Type::TEXT_ARRAY,
    Type::INT8_ARRAY,
    Type::INT4_ARRAY,
    Type::BOOL_ARRAY,
    Type::FLOAT8_ARRAY,
    Type::JSONB,
    Type::JSON,
    Type::TIMESTAMPTZ,
];

/// Each parameter with the type it is sent as. An unnamed statement has
/// no server-side description to learn types from, so each value is
/// asked which type it can encode; one that fits none is declared `text`,
/// and tokio-postgres then refuses it with its own "wrong type" error.
pub(super) fn typed<'a>(params: Params<'a>) -> Vec<(Escaped<'a>, Type)> {
    let mut scratch = bytes::BytesMut::new();
    params
        .iter()
        .map(|param| {
            let ty = CANDIDATES
                .iter()
                .find(|ty| {
                    scratch.clear();
                    match param.to_sql_checked(ty, &mut scratch) {
                        Ok(_) => true,
                        Err(e) => !e.is::<WrongType>(),
                    }
                })
                .cloned()
                .unwrap_or(Type::TEXT);
            (Escaped(*param), ty)
        })
        .collect()
}

pub(super) fn typed_refs<'a>(
    typed: &'a [(Escaped<'a>, Type)],
) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    typed
        .iter()
        .map(|(e, ty)| (e as &(dyn ToSql + Sync), ty.clone()))
        .collect()
}
