//! Bounds on what the store accepts, checked where every write and read
//! passes, so every face (MCP, CLI, library) gets the same limits and the
//! same errors. Without them one caller could store titles of 8 MB that
//! every later `list_conversations` returns again.
//!
//! Text supplied by a caller (titles, keys, names, metadata, queries) is
//! refused when too long, naming the field and the limit. Text the product
//! produces itself about an outcome (error reasons, notes on what context
//! was left out) is clipped instead: refusing it would lose the outcome.
//! Message bodies are bounded elsewhere (`context.max_message_bytes`).

use super::{Result, StoreError};

/// Conversations in one page of a list, unless the caller asks otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Hits of a search, and jobs in a list, unless the caller asks otherwise:
/// fewer than a page, since each carries a message's text.
pub const DEFAULT_HITS: usize = 20;

/// Module names, senders, a conversation's source and target, hostnames,
/// instance and server ids, backend session ids.
pub const MAX_NAME_BYTES: usize = 256;
/// A conversation's title.
pub const MAX_TITLE_BYTES: usize = 1024;
/// An idempotency key (a UUID is 36 bytes).
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 256;
/// A conversation's metadata, as JSON text.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// A search query.
pub const MAX_SEARCH_QUERY_BYTES: usize = 1024;
/// A pagination cursor.
pub const MAX_CURSOR_BYTES: usize = 512;
/// Modules in a hop chain (far beyond any hop limit).
pub const MAX_HOP_CHAIN: usize = 64;
/// Product-written text (error reasons, context notes, control results):
/// clipped to this, keeping its start, where the cause usually is.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// The largest page `list_conversations`, `search` and a window of
/// messages return.
pub const MAX_PAGE: usize = 500;

/// Refuses `value` when it is longer than `limit` bytes.
pub(super) fn check_len(field: &'static str, value: &str, limit: usize) -> Result<()> {
    if value.len() > limit {
        return Err(StoreError::TooLong {
            field,
            len: value.len(),
            limit,
        });
    }
    Ok(())
}

pub(super) fn check_opt_len(field: &'static str, value: Option<&str>, limit: usize) -> Result<()> {
    value.map_or(Ok(()), |v| check_len(field, v, limit))
}

pub(super) fn check_name(field: &'static str, value: &str) -> Result<()> {
    check_len(field, value, MAX_NAME_BYTES)
}

/// A page size must be 1..=[`MAX_PAGE`].
pub(super) fn check_page(field: &'static str, value: usize) -> Result<()> {
    if value == 0 || value > MAX_PAGE {
        return Err(StoreError::PageSize {
            field,
            value,
            max: MAX_PAGE,
        });
    }
    Ok(())
}

pub(super) fn check_hop_chain(chain: &[String]) -> Result<()> {
    if chain.len() > MAX_HOP_CHAIN {
        return Err(StoreError::BadValue(format!(
            "`hop_chain` has {} modules, over the limit of {MAX_HOP_CHAIN}",
            chain.len()
        )));
    }
    chain.iter().try_for_each(|m| check_name("hop_chain", m))
}

/// `text` cut to at most `limit` bytes (on a character boundary), with a
/// marker saying how much was left out.
/// Checks a query about to be stored against every limit (each backend
/// calls this before its transaction); returns its context note, clipped
/// (a note is cut, never refused).
pub(super) fn check_new_query(q: &super::model::NewQuery) -> Result<Option<String>> {
    check_name("sender", &q.sender)?;
    check_name("owner", &q.owner)?;
    check_opt_len(
        "idempotency_key",
        q.idempotency_key.as_deref(),
        MAX_IDEMPOTENCY_KEY_BYTES,
    )?;
    check_opt_len(
        "template_version",
        q.template_version.as_deref(),
        MAX_NAME_BYTES,
    )?;
    check_hop_chain(&q.hop_chain)?;
    Ok(q.context_note
        .as_deref()
        .map(|n| clip(n, MAX_NOTE_BYTES).into_owned()))
}

pub(crate) fn clip(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= limit {
        return text.into();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes cut]", &text[..end], text.len() - end).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_and_the_limit() {
        let e = check_len("title", &"x".repeat(2000), MAX_TITLE_BYTES).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("title") && text.contains("1024") && text.contains("2000"),
            "{text}"
        );
        let page = check_page("limit", 501).unwrap_err().to_string();
        assert!(page.contains("limit") && page.contains("500"), "{page}");
        assert!(
            check_page("limit", 0)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
    }

    #[test]
    fn clipping_keeps_the_start_on_a_character_boundary() {
        let clipped = clip("ééééé", 3);
        assert!(
            clipped.starts_with('é') && clipped.contains("more bytes cut"),
            "{clipped}"
        );
        assert_eq!(clip("short", 10), "short");
    }
}
