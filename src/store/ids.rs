//! Ids by prefix: what people type where an id is asked for.

use super::{Result, StoreError, limits};

/// Shortest id prefix accepted where an id is asked for.
pub const MIN_ID_PREFIX: usize = 8;

/// What kind of id a prefix stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Message,
    Conversation,
}

impl IdKind {
    /// The table that holds ids of this kind (the same on every backend).
    pub(crate) fn table(self) -> &'static str {
        match self {
            IdKind::Message => "messages",
            IdKind::Conversation => "conversations",
        }
    }

    /// What the id names, in words.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            IdKind::Message => "message",
            IdKind::Conversation => "conversation",
        }
    }
}

/// `prefix` as every backend looks it up: trimmed, at least
/// [`MIN_ID_PREFIX`] characters (or an error that says so), and not over
/// the length of a name.
pub(crate) fn checked_prefix(kind: IdKind, prefix: &str) -> Result<&str> {
    let prefix = prefix.trim();
    if prefix.len() < MIN_ID_PREFIX {
        return Err(StoreError::BadValue(format!(
            "{} id \"{prefix}\": give the whole id or at least {MIN_ID_PREFIX} of its first characters",
            kind.noun()
        )));
    }
    limits::check_len("id", prefix, limits::MAX_NAME_BYTES)?;
    Ok(prefix)
}

/// The id `prefix` stands for, from the first two ids (in order) that
/// start with it: none is an unknown id, two are ambiguous.
pub(crate) fn the_one(kind: IdKind, prefix: &str, found: Vec<String>) -> Result<String> {
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(match kind {
            IdKind::Message => StoreError::UnknownMessage(prefix.to_string()),
            IdKind::Conversation => StoreError::UnknownConversation(prefix.to_string()),
        }),
        (Some(first), Some(second)) => Err(StoreError::BadValue(format!(
            "{} id \"{prefix}\" is ambiguous: it starts {first} and {second}; give more characters",
            kind.noun()
        ))),
    }
}
