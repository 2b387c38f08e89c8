//! One write transaction in one round trip: `BEGIN`, a lock statement, the
//! statement that does the work and `COMMIT`, sent back to back on one
//! connection (tokio-postgres pipelines requests that are in flight
//! together) and answered together. Across a network this is what makes a
//! write cost one round trip instead of four or more.
//!
//! The statements may not depend on each other's results, so each write is
//! shaped as "take the locks it needs" then "one statement that checks and
//! writes" (data-modifying CTEs). A statement that finds its conditions
//! unmet writes nothing; the caller then reads why (the rare path). A
//! statement that fails aborts the transaction, and the `COMMIT` behind it
//! then ends it as a rollback.
//!
//! Also here: the locks that replace the old fleet-wide write lock, and the
//! database's clock, which every time a fleet compares is read from.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::cached;
use crate::store::Result;

/// The database's clock in milliseconds since the epoch, as SQL: every
/// time that more than one machine compares (heartbeats, leases, who is
/// alive, when a message was stored) is taken from it, never from a
/// node's own clock, which may be off by any amount. The statement's own
/// start (`statement_timestamp()`), so every use within one statement
/// agrees (a new conversation's `created_at` equals its `updated_at`) and
/// a statement that waited for a lock is stamped when it ran.
pub(super) const DB_NOW_MS: &str =
    "floor(extract(epoch from statement_timestamp()) * 1000)::bigint";

/// Advisory-lock namespace (the first key) of a conversation's writes:
/// writers of one conversation take turns, so its `seq` stays gapless and
/// its rows' transaction ids follow `seq`; writers of different
/// conversations never wait for each other.
pub(super) const CONVERSATION_LOCK: i32 = 0x0ccc_0001;
/// Advisory-lock namespace of a message cap's scope: senders counted by
/// one cap take turns between counting and storing, so the cap holds
/// exactly across every node.
pub(super) const CAP_LOCK: i32 = 0x0ccc_0002;

/// Takes the advisory locks `(namespace, key)` in the order given (the
/// conversation first, then caps in sorted order: every writer takes them
/// in this order, so none waits in a cycle). Advisory locks assign no
/// transaction id: a writer gets its id only once it holds its
/// conversation, so a conversation's rows get ids in `seq` order.
pub(super) const LOCK_KEYS: &str = "SELECT pg_advisory_xact_lock(t.ns, hashtext(t.k))
     FROM unnest($1::int4[], $2::text[]) WITH ORDINALITY AS t(ns, k, n) ORDER BY t.n";

/// Takes the lock of the conversation of message `$1` (no lock when there
/// is no such message: the work statement then finds nothing).
pub(super) const LOCK_CONVERSATION_OF: &str =
    "SELECT pg_advisory_xact_lock($1::int4, hashtext(conversation_id))
     FROM messages WHERE id = $2";

/// A statement and its parameters, prepared (cached) on the connection.
pub(super) struct Step<'a> {
    pub sql: &'a str,
    pub params: &'a [&'a (dyn ToSql + Sync)],
}

/// Runs `lock` then `work` in one transaction, sent in one flight; the rows
/// of `work`. On a direct connection both statements are prepared first
/// (from the connection's cache after the first use), so nothing is sent
/// between `BEGIN` and `COMMIT` but the two statements, in order; through
/// a transaction-mode pooler they are unnamed, each sent whole. Text
/// parameters are escaped as every statement's are (`cached.rs`).
pub(super) async fn in_one_flight(
    client: &deadpool_postgres::Object,
    lock: Step<'_>,
    work: Step<'_>,
) -> Result<Vec<Row>> {
    let raw: &tokio_postgres::Client = client;
    let (begun, locked, worked, committed) = if cached::prepared_allowed() {
        // Both at once: on a connection's first use of them, one round
        // trip prepares both.
        let (lock_statement, work_statement) = tokio::try_join!(
            client.prepare_cached(lock.sql),
            client.prepare_cached(work.sql)
        )?;
        let (lock_params, work_params) =
            (cached::escaped(lock.params), cached::escaped(work.params));
        let (lock_refs, work_refs) = (cached::refs(&lock_params), cached::refs(&work_params));
        in_order(
            raw.batch_execute("BEGIN"),
            raw.execute(&lock_statement, &lock_refs),
            raw.query(&work_statement, &work_refs),
            raw.batch_execute("COMMIT"),
        )
        .await
    } else {
        let (lock_params, work_params) = (cached::typed(lock.params), cached::typed(work.params));
        let (lock_refs, work_refs) = (
            cached::typed_refs(&lock_params),
            cached::typed_refs(&work_params),
        );
        in_order(
            raw.batch_execute("BEGIN"),
            raw.execute_typed(lock.sql, &lock_refs),
            raw.query_typed(work.sql, &work_refs),
            raw.batch_execute("COMMIT"),
        )
        .await
    };
    // The first failure is the cause; those after it are its echoes
    // ("current transaction is aborted").
    begun?;
    locked?;
    let rows = worked?;
    committed?;
    Ok(rows)
}

/// Awaits four futures together, polling them in the order given every
/// time, so that each sends its request before the next one does (a
/// future of tokio-postgres sends on its first poll).
async fn in_order<A, B, C, D>(
    a: impl Future<Output = A>,
    b: impl Future<Output = B>,
    c: impl Future<Output = C>,
    d: impl Future<Output = D>,
) -> (A, B, C, D) {
    let (mut a, mut b, mut c, mut d) = (pin!(a), pin!(b), pin!(c), pin!(d));
    let (mut ra, mut rb, mut rc, mut rd) = (None, None, None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if rc.is_none()
            && let Poll::Ready(v) = c.as_mut().poll(cx)
        {
            rc = Some(v);
        }
        if rd.is_none()
            && let Poll::Ready(v) = d.as_mut().poll(cx)
        {
            rd = Some(v);
        }
        match (ra.take(), rb.take(), rc.take(), rd.take()) {
            (Some(a), Some(b), Some(c), Some(d)) => Poll::Ready((a, b, c, d)),
            (a, b, c, d) => {
                (ra, rb, rc, rd) = (a, b, c, d);
                Poll::Pending
            }
        }
    })
    .await
}
