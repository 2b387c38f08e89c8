//! What the operator's tools read and remove: conversations for good
//! (`conversations delete` and `conversations prune`), the newest messages
//! across conversations and the permission warnings (for the dashboard).

use super::HubError;
use crate::store::{Conversation, MessageActivity, PruneRule};

impl<'h> crate::hub::Conversations<'h> {
    /// Removes a conversation and its messages. Refused while one of its
    /// queries is still pending.
    pub async fn delete(self, id: &str) -> Result<Conversation, HubError> {
        let removed = self.store.delete_conversation(id).await?;
        self.messages_changed();
        Ok(removed)
    }

    /// What [`Conversations::prune`](crate::hub::Conversations::prune) would remove.
    pub async fn prunable(self, rule: PruneRule) -> Result<Vec<Conversation>, HubError> {
        Ok(self.store.prunable_conversations(&rule).await?)
    }

    /// Removes every conversation `rule` matches (never one with a pending
    /// query) and returns them.
    pub async fn prune(self, rule: PruneRule) -> Result<Vec<Conversation>, HubError> {
        let removed = self.store.prune_conversations(&rule).await?;
        if !removed.is_empty() {
            self.messages_changed();
        }
        Ok(removed)
    }

    /// The newest `limit` messages of any conversation, newest first, by
    /// any process sharing the database.
    pub async fn recent_messages(self, limit: usize) -> Result<Vec<MessageActivity>, HubError> {
        let mut recent = self.store.recent_messages(limit).await?;
        // Marked per answering module, as `get_conversation` marks them.
        let mut targets: Vec<String> = recent.iter().map(|a| a.target.clone()).collect();
        targets.sort();
        targets.dedup();
        for target in targets {
            let mut messages: Vec<_> = recent
                .iter()
                .filter(|a| a.target == target)
                .map(|a| a.message.clone())
                .collect();
            self.mark_stale(&target, &mut messages).await;
            for (activity, marked) in recent
                .iter_mut()
                .filter(|a| a.target == target)
                .zip(messages)
            {
                activity.message.stale = marked.stale;
            }
        }
        Ok(recent)
    }
}
