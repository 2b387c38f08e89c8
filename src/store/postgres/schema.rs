//! Schema migrations on PostgreSQL: the same versions as the SQLite
//! backend (version `i` means the same tables and columns on both), each
//! written for PostgreSQL. All are applied in one transaction under an
//! advisory lock, so two processes starting at once take turns and the
//! second finds the work done.

use super::connect::{StoreUrl, connect_failure};
use crate::store::{Result, StoreError};

/// Each entry moves the schema from version `i` to `i + 1`, like the
/// SQLite list of the same length. Never edit a released entry.
const MIGRATIONS: &[&str] = &[
    r#"
-- Ids in byte order (COLLATE "C"), as SQLite compares them: an id prefix
-- is a range scan of the primary key.
CREATE TABLE conversations (
    id              TEXT COLLATE "C" PRIMARY KEY,
    source          TEXT NOT NULL,
    target          TEXT NOT NULL,
    title           TEXT,
    status          TEXT NOT NULL DEFAULT 'active',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    backend_session TEXT,
    metadata        TEXT NOT NULL DEFAULT '{}',
    message_count   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_by_activity ON conversations (updated_at DESC, id DESC);
CREATE INDEX conversations_by_source ON conversations (source, updated_at DESC, id DESC);
CREATE INDEX conversations_by_target ON conversations (target, updated_at DESC, id DESC);

CREATE TABLE messages (
    pos              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT COLLATE "C" NOT NULL UNIQUE,
    conversation_id  TEXT NOT NULL REFERENCES conversations (id),
    seq              BIGINT NOT NULL,
    sender           TEXT NOT NULL,
    role             TEXT NOT NULL,
    content          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    status           TEXT NOT NULL,
    instance_id      TEXT,
    duration_ms      BIGINT,
    usage            TEXT,
    cost_usd         DOUBLE PRECISION,
    template_version TEXT,
    idempotency_key  TEXT,
    hop_chain        TEXT NOT NULL DEFAULT '[]',
    context_note     TEXT,
    error            TEXT,
    reply_to         TEXT,
    owner            TEXT,
    UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_idempotency ON messages (conversation_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_pending ON messages (status) WHERE status = 'pending';
CREATE INDEX messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
-- Search: every word must occur; the 'simple' configuration lowercases
-- and keeps every word (no stemming, no stop words), as FTS5 does.
CREATE INDEX messages_search ON messages USING GIN (to_tsvector('simple', content));

CREATE TABLE servers (
    id             TEXT PRIMARY KEY,
    pid            BIGINT NOT NULL,
    hostname       TEXT NOT NULL,
    module         TEXT,
    started_at     BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL,
    stopped        BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE instances (
    server_id       TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    record          TEXT NOT NULL,
    PRIMARY KEY (server_id, id)
);
CREATE TABLE control_requests (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    server_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    action      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    taken_at    BIGINT,
    done_at     BIGINT,
    ok          BOOLEAN,
    result      TEXT
);
CREATE INDEX control_open ON control_requests (server_id) WHERE taken_at IS NULL;
"#,
    r#"
CREATE INDEX messages_queries ON messages (created_at DESC, id DESC) WHERE role = 'query';
"#,
    r#"
ALTER TABLE messages ADD COLUMN tool_uses TEXT NOT NULL DEFAULT '[]';
"#,
    r#"
ALTER TABLE messages ADD COLUMN api_duration_ms BIGINT;
ALTER TABLE messages ADD COLUMN num_turns BIGINT;
ALTER TABLE messages ADD COLUMN input_tokens BIGINT;
ALTER TABLE messages ADD COLUMN output_tokens BIGINT;
ALTER TABLE messages ADD COLUMN failure_cause TEXT;
CREATE INDEX messages_by_time ON messages (created_at);
"#,
    r#"
CREATE TABLE access_tokens (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL,
    module       TEXT,
    admin        BOOLEAN NOT NULL DEFAULT FALSE,
    label        TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
"#,
    r#"
ALTER TABLE messages ADD COLUMN module_commit TEXT;
ALTER TABLE messages ADD COLUMN module_dirty BOOLEAN;
ALTER TABLE messages ADD COLUMN reuse_key TEXT;
ALTER TABLE messages ADD COLUMN reused_from TEXT;
CREATE INDEX messages_reuse ON messages (reuse_key, module_commit) WHERE reuse_key IS NOT NULL;
"#,
    // The fleet (issue 19): every daemon on this database is a node; a
    // question whose target is hosted elsewhere is `routed`: a node that
    // hosts the target claims it (`claimed_by`) under a lease it renews.
    r#"
CREATE TABLE nodes (
    name           TEXT PRIMARY KEY,
    server_id      TEXT NOT NULL,
    address        TEXT,
    version        TEXT NOT NULL,
    schema_version BIGINT NOT NULL,
    started_at     BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL,
    modules        TEXT NOT NULL DEFAULT '[]',
    stopped        BOOLEAN NOT NULL DEFAULT FALSE
);
ALTER TABLE messages ADD COLUMN routed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE messages ADD COLUMN route TEXT;
ALTER TABLE messages ADD COLUMN claimed_by TEXT;
ALTER TABLE messages ADD COLUMN lease_until BIGINT;
ALTER TABLE messages ADD COLUMN retries BIGINT NOT NULL DEFAULT 0;
CREATE INDEX messages_unclaimed ON messages (pos) WHERE routed AND status = 'pending' AND claimed_by IS NULL;
CREATE INDEX messages_claimed ON messages (claimed_by) WHERE status = 'pending' AND claimed_by IS NOT NULL;
"#,
    // Descriptors registered on one node of a fleet, for every other node
    // (issue 19). Used on PostgreSQL only, kept in step on SQLite.
    r#"
CREATE TABLE fleet_descriptors (
    name       TEXT PRIMARY KEY,
    node       TEXT NOT NULL,
    descriptor TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    removed    BOOLEAN NOT NULL DEFAULT FALSE
);
"#,
    // The fleet without a global write lock (issue 27): a row remembers the
    // transaction that wrote it, so followers read in commit order (see
    // `reads.rs`); rows from before keep `pos` order under txid 0. The node
    // a follow-up prefers is a column of the store, not the hub's JSON.
    r#"
ALTER TABLE messages ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX messages_follow ON messages (txid, pos);
ALTER TABLE messages ADD COLUMN prefer_node TEXT;
"#,
    // Ask-backs (issue 29): an answering agent's question back to its
    // asker (a message of role `ask_back`, answered by one of role
    // `ask_back_answer`), and where it is; one waits per query at most.
    // And the question an agent asked a third module while answering
    // (`ask_module`): a child of the question it was answering.
    r#"
CREATE TABLE ask_backs (
    ask_id     TEXT PRIMARY KEY,
    query_id   TEXT NOT NULL,
    state      TEXT NOT NULL,
    answer_id  TEXT,
    created_at BIGINT NOT NULL,
    closed_at  BIGINT
);
CREATE UNIQUE INDEX ask_backs_waiting ON ask_backs (query_id) WHERE state = 'waiting';
CREATE INDEX ask_backs_query ON ask_backs (query_id);
CREATE TABLE query_parents (
    query_id  TEXT PRIMARY KEY,
    parent_id TEXT NOT NULL
);
CREATE INDEX query_parents_parent ON query_parents (parent_id);
"#,
    // One liveness record per process (issue 26): a node's heartbeat is
    // its daemon's server row's; the node row only names it, says what it
    // hosts and whether it left the fleet.
    r#"
ALTER TABLE nodes DROP COLUMN last_heartbeat;
"#,
    // SQLite's search index catches up in batches from this version on
    // (`sqlite/schema.rs`); PostgreSQL's search needs nothing new. The
    // step keeps both schema versions one number.
    r#"
SELECT 1;
"#,
];

/// The schema version this code writes: the same number as SQLite's (a
/// unit test holds them together).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[cfg(test)]
#[test]
fn both_backends_are_at_the_same_schema_version() {
    assert_eq!(SCHEMA_VERSION, crate::store::SCHEMA_VERSION);
}

/// The advisory lock that makes migrations take turns.
const MIGRATION_LOCK: i64 = 0x00cc_c0dd_0000;

/// Connects once (the check that a URL works, with a clear error naming
/// host, port, database and cause) and brings the schema up to date.
pub(super) async fn connect_and_migrate(
    url: &StoreUrl,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
) -> Result<()> {
    let open_error = |reason: String| StoreError::Open {
        path: url.shown().to_string(),
        reason,
    };
    let (mut client, connection) = url
        .config
        .connect(tls)
        .await
        .map_err(|e| open_error(connect_failure(url, &e)))?;
    let driver = tokio::spawn(connection);
    let result = migrate(&mut client).await.map_err(|e| match e {
        StoreError::Database { message } => open_error(format!(
            "{}: cannot apply the schema: {message}",
            url.subject()
        )),
        other => other,
    });
    drop(client);
    let _ = driver.await;
    result
}

async fn migrate(client: &mut tokio_postgres::Client) -> Result<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await?;
    let found: Option<i64> = tx
        .query_opt("SELECT version FROM schema_version", &[])
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    let found = match found {
        Some(v) => v,
        None => {
            tx.execute("INSERT INTO schema_version (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, script) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(script).await?;
        tx.execute("UPDATE schema_version SET version = $1", &[&(i as i64 + 1)])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
