//! The state of a module's folder as git sees it: which commit its answers
//! describe (`module_commit`, `module_dirty`), and what changed in the
//! folder between two commits (staleness, the next turn's note, reuse).
//!
//! `git` runs as a program with arguments (no shell, no git library: gix
//! would double the build). Reads are cached per folder and refreshed when
//! the repository changes (`cache.rs`), so a message pays a few `stat`
//! calls, not a process.

mod cache;
mod git;
#[cfg(test)]
mod tests;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use cache::FolderStates;
pub use git::GitError;

/// Most changed file names kept in a [`Changes`] (the count is exact).
pub const MAX_CHANGED_FILES: usize = 50;

/// What git says about a folder at one moment. Both fields are `None` for
/// a folder that is not in a git repository (or when `git` is missing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct FolderState {
    /// The commit of HEAD (`None` also in a repository without commits).
    pub commit: Option<String>,
    /// Whether the folder has uncommitted changes (untracked files count).
    pub dirty: Option<bool>,
}

/// What changed in a folder from one commit to another (only files inside
/// the folder count: a module in a larger repository is not stale because
/// another module's files moved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Changes {
    /// The commit the earlier answer describes.
    pub from: String,
    /// HEAD now.
    pub to: String,
    /// Commits from `from` to `to` that touched the folder (`None` when
    /// git no longer knows `from`, e.g. after a rebase and a gc).
    pub commits: Option<u64>,
    /// Files of the folder that differ, relative to it, at most
    /// [`MAX_CHANGED_FILES`].
    pub files: Vec<String>,
    /// How many files differ in all.
    pub files_changed: usize,
}

impl Changes {
    /// Whether the folder's files differ (or git cannot tell any more).
    pub fn is_stale(&self) -> bool {
        self.files_changed > 0 || self.commits.is_none()
    }
}

/// A commit name as git prints it: 40 (SHA-1) or 64 (SHA-256) hex digits.
/// Anything else (an imported export can hold any text) is never passed
/// to git, where it could read as an option.
pub fn is_commit_name(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}
