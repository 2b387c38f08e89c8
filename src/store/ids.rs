//! Ids by prefix: what people type where an id is asked for.

/// Shortest id prefix accepted where an id is asked for.
pub const MIN_ID_PREFIX: usize = 8;

/// What kind of id a prefix stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Message,
    Conversation,
}

impl IdKind {
    /// What the id names, in words.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            IdKind::Message => "message",
            IdKind::Conversation => "conversation",
        }
    }
}
