//! Commit-pinned replies (issue 21): what a reply records about the
//! answering module's folder. Each backend stores it with the reply and
//! finds an earlier answer to reuse by it (`sqlite/module_state.rs`).

use crate::workspace::FolderState;

/// What a reply records besides its text: the folder's state when it was
/// answered, the key under which it can be reused, the reply it repeats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplyModule {
    pub state: FolderState,
    /// Target, question and policy, hashed (see `hub/reuse.rs`).
    pub reuse_key: Option<String>,
    pub reused_from: Option<String>,
}
