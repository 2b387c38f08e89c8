//! A recent history per conversation, so a sender reads only the messages
//! stored since its last turn instead of the whole conversation each time.
//! Messages are append-only and numbered without gaps, so the kept prefix
//! plus what is stored after its last number is always the whole history,
//! whichever process wrote it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::store::Message;

/// Conversations whose history is kept; the least recently kept goes first.
const KEPT_CONVERSATIONS: usize = 256;

#[derive(Default)]
pub(super) struct HistoryCache {
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    by_conversation: HashMap<String, Arc<Vec<Message>>>,
    order: VecDeque<String>,
}

impl HistoryCache {
    /// The kept history of `id` (empty if none).
    pub fn get(&self, id: &str) -> Arc<Vec<Message>> {
        self.lock()
            .by_conversation
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    /// Keeps `history` for `id`, unless a longer one is kept already (a
    /// concurrent sender read later).
    pub fn keep(&self, id: &str, history: Arc<Vec<Message>>) {
        let mut kept = self.lock();
        match kept.by_conversation.get(id) {
            Some(current) if current.len() >= history.len() => return,
            Some(_) => {}
            None => {
                kept.order.push_back(id.to_string());
                if kept.order.len() > KEPT_CONVERSATIONS
                    && let Some(oldest) = kept.order.pop_front()
                {
                    kept.by_conversation.remove(&oldest);
                }
            }
        }
        kept.by_conversation.insert(id.to_string(), history);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
