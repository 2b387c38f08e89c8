//! Schema migrations: an ordered list of SQL scripts and a one-row version
//! table. Applying them is idempotent; a database newer than the code is
//! refused rather than misread.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::{Result, StoreError};

/// Each entry moves the schema from version `i` to `i + 1`. Never edit a
/// released entry; add a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    source          TEXT NOT NULL,
    target          TEXT NOT NULL,
    title           TEXT,
    status          TEXT NOT NULL DEFAULT 'active',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    backend_session TEXT,
    metadata        TEXT NOT NULL DEFAULT '{}',
    message_count   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_by_activity ON conversations (updated_at DESC, id DESC);
CREATE INDEX conversations_by_source ON conversations (source, updated_at DESC, id DESC);
CREATE INDEX conversations_by_target ON conversations (target, updated_at DESC, id DESC);

CREATE TABLE messages (
    pos              INTEGER PRIMARY KEY, -- global order; the cursor of followers
    id               TEXT NOT NULL UNIQUE,
    conversation_id  TEXT NOT NULL REFERENCES conversations (id),
    seq              INTEGER NOT NULL,
    sender           TEXT NOT NULL,
    role             TEXT NOT NULL,
    content          TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    status           TEXT NOT NULL,
    instance_id      TEXT,
    duration_ms      INTEGER,
    usage            TEXT,
    cost_usd         REAL,
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

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    content, content = 'messages', content_rowid = 'pos'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.pos, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.pos, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.pos, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.pos, new.content);
END;

CREATE TABLE servers (
    id             TEXT PRIMARY KEY,
    pid            INTEGER NOT NULL,
    hostname       TEXT NOT NULL,
    module         TEXT,
    started_at     INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL,
    stopped        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE instances (
    server_id       TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    record          TEXT NOT NULL,
    PRIMARY KEY (server_id, id)
);
CREATE TABLE control_requests (
    id          INTEGER PRIMARY KEY,
    server_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    action      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    taken_at    INTEGER,
    done_at     INTEGER,
    ok          INTEGER,
    result      TEXT
);
CREATE INDEX control_open ON control_requests (server_id) WHERE taken_at IS NULL;
"#,
    // Jobs: the newest queries, for `jobs list`.
    r#"
CREATE INDEX messages_queries ON messages (created_at DESC, id DESC) WHERE role = 'query';
"#,
    r#"
-- What the answering agent tried (tool, target, allowed or refused), as JSON.
ALTER TABLE messages ADD COLUMN tool_uses TEXT NOT NULL DEFAULT '[]';
"#,
    // The ledger (issue 13): what each reply cost, as the backend reported
    // it, in plain columns so that sums and counts need no JSON functions
    // (a PostgreSQL store must be able to answer the same queries), and why
    // a failed query failed, for `stats`.
    r#"
ALTER TABLE messages ADD COLUMN api_duration_ms INTEGER;
ALTER TABLE messages ADD COLUMN num_turns INTEGER;
ALTER TABLE messages ADD COLUMN input_tokens INTEGER;
ALTER TABLE messages ADD COLUMN output_tokens INTEGER;
ALTER TABLE messages ADD COLUMN failure_cause TEXT;
CREATE INDEX messages_by_time ON messages (created_at);
"#,
    // Access tokens of remote hosts (issue 11): only a hash of the secret
    // is kept; `module` NULL with `admin` 1 is an operator token.
    r#"
CREATE TABLE access_tokens (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL,
    module       TEXT,
    admin        INTEGER NOT NULL DEFAULT 0,
    label        TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
"#,
    // Commit-pinned replies (issue 21): the answering module's folder when
    // it answered (HEAD, uncommitted changes; NULL outside git), the key
    // of the question for `reuse: "unchanged"` (a hash of target, question
    // and policy), and the earlier reply a reused one repeats.
    r#"
ALTER TABLE messages ADD COLUMN module_commit TEXT;
ALTER TABLE messages ADD COLUMN module_dirty INTEGER;
ALTER TABLE messages ADD COLUMN reuse_key TEXT;
ALTER TABLE messages ADD COLUMN reused_from TEXT;
CREATE INDEX messages_reuse ON messages (reuse_key, module_commit) WHERE reuse_key IS NOT NULL;
"#,
    // The fleet (issue 19): nodes, and questions routed through the store
    // to the node that hosts their target. Used on PostgreSQL only; kept
    // here too so a schema version means the same tables on both backends.
    r#"
CREATE TABLE nodes (
    name           TEXT PRIMARY KEY,
    server_id      TEXT NOT NULL,
    address        TEXT,
    version        TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    started_at     INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL,
    modules        TEXT NOT NULL DEFAULT '[]',
    stopped        INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE messages ADD COLUMN routed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN route TEXT;
ALTER TABLE messages ADD COLUMN claimed_by TEXT;
ALTER TABLE messages ADD COLUMN lease_until INTEGER;
ALTER TABLE messages ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
"#,
    // Descriptors registered on one node of a fleet, for every other node
    // (issue 19). Used on PostgreSQL only, kept in step on SQLite.
    r#"
CREATE TABLE fleet_descriptors (
    name       TEXT PRIMARY KEY,
    node       TEXT NOT NULL,
    descriptor TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    removed    INTEGER NOT NULL DEFAULT 0
);
"#,
    // Issue 27: the node a routed follow-up prefers, a column of its own.
    // (PostgreSQL also records each row's transaction for its followers;
    // SQLite's writers take turns, so `pos` is already commit order.)
    r#"
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
    created_at INTEGER NOT NULL,
    closed_at  INTEGER
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
    // its server row's (kept in step with PostgreSQL's schema).
    r#"
ALTER TABLE nodes DROP COLUMN last_heartbeat;
"#,
    // Search's index catches up in batches (see `search.rs`): a message's
    // write records only its `pos`. A pending message that is deleted or
    // changed needs nothing from the index; an indexed one is taken out of
    // it as before. (A queue, not a high-water mark: SQLite may give a
    // deleted last row's `pos` to the next message.)
    r#"
CREATE TABLE messages_fts_pending (pos INTEGER PRIMARY KEY);
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT OR IGNORE INTO messages_fts_pending (pos) VALUES (new.pos);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        SELECT 'delete', old.pos, old.content
        WHERE NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE pos = old.pos);
    DELETE FROM messages_fts_pending WHERE pos = old.pos;
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
    WHEN NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE pos = old.pos)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.pos, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.pos, new.content);
END;
"#,
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let found: Option<i64> = tx
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .optional()?;
    let found = match found {
        Some(v) => v,
        None => {
            tx.execute("INSERT INTO schema_version (version) VALUES (0)", [])?;
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
        tx.execute_batch(script)?;
        tx.execute("UPDATE schema_version SET version = ?1", [i as i64 + 1])?;
    }
    tx.commit()?;
    Ok(())
}
