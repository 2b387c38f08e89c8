//! The column lists every backend reads its rows with, in the order the
//! row readers of each backend expect them. One list, so the backends
//! cannot drift apart column by column.

pub(crate) const CONVERSATION_COLUMNS: &str = "id, source, target, title, status, created_at, updated_at, backend_session, metadata, message_count";

pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, sender, role, content, created_at, status, instance_id, duration_ms, usage, cost_usd, template_version, idempotency_key, hop_chain, context_note, error, reply_to, owner, tool_uses, module_commit, module_dirty, reused_from, claimed_by";

pub(crate) const TOKEN_COLUMNS: &str =
    "id, secret_hash, module, admin, label, created_at, expires_at, revoked_at, last_used_at";

/// [`MESSAGE_COLUMNS`] qualified by the alias `m`, for queries that join
/// messages (as `m`) with their conversation. Built once.
pub(crate) fn message_columns_of_m() -> &'static str {
    static COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        MESSAGE_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    &COLUMNS
}
