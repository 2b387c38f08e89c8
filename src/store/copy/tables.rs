//! The tables `store copy` moves and their columns, in the copy's own
//! row model (see `store/copy.rs`).

/// What a column holds. Booleans are BOOLEAN on PostgreSQL and INTEGER
/// 0/1 on SQLite; integers are 64-bit on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    Text,
    Integer,
    Real,
    Boolean,
}

#[derive(Debug)]
pub struct CopyColumn {
    pub name: &'static str,
    pub kind: CopyKind,
}

/// A table the copy moves. Its first column is the key: unique, and the
/// order batches are read in.
#[derive(Debug)]
pub struct CopyTable {
    pub name: &'static str,
    /// What its rows are called in reports.
    pub noun: &'static str,
    pub columns: &'static [CopyColumn],
    /// Whether the key is a PostgreSQL identity column (`GENERATED ALWAYS`):
    /// inserted with `OVERRIDING SYSTEM VALUE`, its sequence moved past
    /// the largest copied value afterwards.
    pub identity_key: bool,
}

impl CopyTable {
    pub fn key(&self) -> &CopyColumn {
        &self.columns[0]
    }

    /// The column names, comma-separated, in the row order.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const fn text(name: &'static str) -> CopyColumn {
    CopyColumn {
        name,
        kind: CopyKind::Text,
    }
}
const fn integer(name: &'static str) -> CopyColumn {
    CopyColumn {
        name,
        kind: CopyKind::Integer,
    }
}
const fn real(name: &'static str) -> CopyColumn {
    CopyColumn {
        name,
        kind: CopyKind::Real,
    }
}
const fn boolean(name: &'static str) -> CopyColumn {
    CopyColumn {
        name,
        kind: CopyKind::Boolean,
    }
}

pub const CONVERSATIONS: CopyTable = CopyTable {
    name: "conversations",
    noun: "conversations",
    columns: &[
        text("id"),
        text("source"),
        text("target"),
        text("title"),
        text("status"),
        integer("created_at"),
        integer("updated_at"),
        text("backend_session"),
        text("metadata"),
        integer("message_count"),
    ],
    identity_key: false,
};

/// Every column of `messages` (the schema check in [`super::copy_between`] makes
/// sure of it on both sides): `pos` is the global order followers page by.
pub const MESSAGES: CopyTable = CopyTable {
    name: "messages",
    noun: "messages",
    columns: &[
        integer("pos"),
        text("id"),
        text("conversation_id"),
        integer("seq"),
        text("sender"),
        text("role"),
        text("content"),
        integer("created_at"),
        text("status"),
        text("instance_id"),
        integer("duration_ms"),
        text("usage"),
        real("cost_usd"),
        text("template_version"),
        text("idempotency_key"),
        text("hop_chain"),
        text("context_note"),
        text("error"),
        text("reply_to"),
        text("owner"),
        text("tool_uses"),
        integer("api_duration_ms"),
        integer("num_turns"),
        integer("input_tokens"),
        integer("output_tokens"),
        text("failure_cause"),
        text("module_commit"),
        boolean("module_dirty"),
        text("reuse_key"),
        text("reused_from"),
        boolean("routed"),
        text("route"),
        text("claimed_by"),
        integer("lease_until"),
        integer("retries"),
        text("prefer_node"),
    ],
    identity_key: true,
};

pub const ACCESS_TOKENS: CopyTable = CopyTable {
    name: "access_tokens",
    noun: "access tokens",
    columns: &[
        text("id"),
        text("secret_hash"),
        text("module"),
        boolean("admin"),
        text("label"),
        integer("created_at"),
        integer("expires_at"),
        integer("revoked_at"),
        integer("last_used_at"),
    ],
    identity_key: false,
};

/// Questions back (issue 29): the question's and answer's messages are
/// in `messages`; this says which query each belongs to and its state.
pub const ASK_BACKS: CopyTable = CopyTable {
    name: "ask_backs",
    noun: "questions back",
    columns: &[
        text("ask_id"),
        text("query_id"),
        text("state"),
        text("answer_id"),
        integer("created_at"),
        integer("closed_at"),
    ],
    identity_key: false,
};

/// Which query an answering agent asked (`ask_module`) while answering
/// which: the tree `jobs show` draws.
pub const QUERY_PARENTS: CopyTable = CopyTable {
    name: "query_parents",
    noun: "child questions",
    columns: &[text("query_id"), text("parent_id")],
    identity_key: false,
};

/// The tables copied, parents first (messages reference conversations).
pub const COPIED_TABLES: [&CopyTable; 5] = [
    &CONVERSATIONS,
    &MESSAGES,
    &ACCESS_TOKENS,
    &ASK_BACKS,
    &QUERY_PARENTS,
];
