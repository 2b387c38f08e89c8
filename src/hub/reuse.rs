//! Commit-pinned replies (issue 21), the hub's side: reading the answering
//! module's folder state around a query, the note that tells a follow-up's
//! agent which files changed since its last answer, `reuse: "unchanged"`,
//! and marking stored replies stale on reads.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Hub, HubError};
use crate::store::{Message, Role};
use crate::workspace::{Changes, FolderState};

/// Whether `send_message` may answer with an earlier reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reuse {
    /// Always ask the agent (the default).
    #[default]
    Never,
    /// Return the earlier answer to the same question (same asker and
    /// target, same text once whitespace is normalised, same policy) when it was given
    /// at the module's current commit with a clean folder, and the folder
    /// is still clean.
    Unchanged,
}

impl std::str::FromStr for Reuse {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "never" => Ok(Reuse::Never),
            "unchanged" => Ok(Reuse::Unchanged),
            other => Err(format!(
                "unknown reuse \"{other}\" (one of: never, unchanged)"
            )),
        }
    }
}

/// What `prepare` learns about the answering module's folder.
#[derive(Debug, Default)]
pub(super) struct ModuleContext {
    /// The key this question's reply is stored under, for later reuse.
    pub reuse_key: String,
    /// The earlier reply to return instead of asking (`reuse: "unchanged"`).
    pub reused: Option<Message>,
    /// The folder's state the reused reply was checked against.
    pub state_now: FolderState,
    /// What changed in the folder since the conversation's last answer.
    pub changes: Option<Changes>,
}

/// The key of a question: who asks, who answers, the text with whitespace
/// normalised, and the policy the agent answers under, hashed. The asker
/// is part of it because the answer was written for that asker (the prompt
/// says who asks and answers in its terms), and because an answer given to
/// one module is not another module's to read.
fn reuse_key(
    source: &str,
    target: &str,
    message: &str,
    policy: &crate::policy::ModulePolicy,
) -> String {
    let words: Vec<&str> = message.split_whitespace().collect();
    let identity = serde_json::json!([source, target, words.join(" "), policy]);
    let digest = Sha256::digest(identity.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Hub {
    /// The folder's state (cached; `fresh` reads it now). Never fails:
    /// outside git, or without git, both fields are null.
    pub(super) async fn folder_state(&self, folder: &Path, fresh: bool) -> FolderState {
        if !fresh && let Some(state) = self.folder_states.cached(folder) {
            return state;
        }
        let (states, folder) = (self.folder_states.clone(), folder.to_path_buf());
        tokio::task::spawn_blocking(move || {
            if fresh {
                states.read_fresh(&folder)
            } else {
                states.read(&folder)
            }
        })
        .await
        .unwrap_or_default()
    }

    /// Before a query is stored: its reuse key, the reply to reuse (when
    /// asked for and one fits) and what changed since the last answer.
    pub(super) async fn module_context(
        &self,
        source: &str,
        target: &str,
        folder: &Path,
        history: &[Message],
        message: &str,
        reuse: Reuse,
    ) -> Result<ModuleContext, HubError> {
        let reuse_key = reuse_key(source, target, message, &self.modules().policy(target));
        // Reuse must not trust a cached "clean": read the folder now.
        let state_now = self.folder_state(folder, reuse == Reuse::Unchanged).await;
        let mut reused = None;
        if reuse == Reuse::Unchanged
            && let (Some(commit), Some(false)) = (state_now.commit.clone(), state_now.dirty)
        {
            reused = self.store.reusable_reply(&reuse_key, &commit).await?;
        }
        let last_commit = history
            .iter()
            .rev()
            .find(|m| m.role == Role::Reply)
            .and_then(|m| m.module_commit.clone());
        let changes = match (last_commit, &state_now.commit) {
            (Some(then), Some(now)) if &then != now => {
                self.changes_in(folder, then, now.clone()).await
            }
            _ => None,
        };
        Ok(ModuleContext {
            reuse_key,
            reused,
            state_now,
            changes: changes.filter(Changes::is_stale),
        })
    }

    async fn changes_in(&self, folder: &Path, from: String, to: String) -> Option<Changes> {
        let (states, folder) = (self.folder_states.clone(), folder.to_path_buf());
        let found = tokio::task::spawn_blocking(move || states.changes(&folder, &from, &to)).await;
        match found {
            Ok(Ok(changes)) => Some(changes),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "changes since a reply could not be read");
                None
            }
            Err(_) => None,
        }
    }

    /// Marks each reply of `target` whose module's folder changed since it
    /// was answered (`stale`). Blocking work runs off the async threads.
    pub(super) async fn mark_stale(&self, target: &str, messages: &mut [Message]) {
        let Ok(folder) = self.modules().folder(target) else {
            return; // A module no longer known: nothing to compare with.
        };
        if !messages
            .iter()
            .any(|m| m.role == Role::Reply && m.module_commit.is_some())
        {
            return;
        }
        let commits: Vec<Option<String>> =
            messages.iter().map(|m| m.module_commit.clone()).collect();
        let states = self.folder_states.clone();
        let marks = tokio::task::spawn_blocking(move || stale_marks(&states, &folder, commits))
            .await
            .unwrap_or_default();
        for (message, mark) in messages.iter_mut().zip(marks) {
            if message.role == Role::Reply {
                message.stale = mark;
            }
        }
    }
}

/// For each commit (or none): what changed since it, if the folder's
/// files differ now.
fn stale_marks(
    states: &crate::workspace::FolderStates,
    folder: &Path,
    commits: Vec<Option<String>>,
) -> Vec<Option<Changes>> {
    let Some(head) = states.read(folder).commit else {
        return vec![None; commits.len()];
    };
    commits
        .into_iter()
        .map(|commit| {
            let commit = commit.filter(|c| *c != head)?;
            match states.changes(folder, &commit, &head) {
                Ok(changes) => Some(changes).filter(Changes::is_stale),
                Err(e) => {
                    tracing::debug!(error = %e, "staleness of a reply could not be read");
                    None
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_ignores_whitespace_and_tells_askers_targets_and_policies_apart() {
        let policy = crate::policy::PermissionsConfig::default().policy_for("a");
        let key = reuse_key("s", "a", "How do I\n  call   you?", &policy);
        assert_eq!(key, reuse_key("s", "a", " How do I call you? ", &policy));
        assert_ne!(key, reuse_key("s", "b", "How do I call you?", &policy));
        assert_ne!(
            key,
            reuse_key("other", "a", "How do I call you?", &policy),
            "another asker's answer is not reused"
        );
        assert_ne!(key, reuse_key("s", "a", "How do I call you", &policy));
        let mut edit = policy.clone();
        edit.mode = crate::policy::Mode::Edit;
        assert_ne!(key, reuse_key("s", "a", "How do I call you?", &edit));
    }
}
