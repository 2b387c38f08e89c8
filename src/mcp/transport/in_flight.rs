//! Ids of requests received but not yet answered: to refuse a second
//! request with the same id (rmcp keys its bookkeeping by id, so one of the
//! two answers would be lost), and to answer what was asked before stdin
//! ended.

use std::collections::HashSet;
use std::sync::Mutex;

use rmcp::model::RequestId;
use tokio::sync::Notify;

#[derive(Default)]
pub(super) struct InFlight {
    ids: Mutex<HashSet<RequestId>>,
    changed: Notify,
}

impl InFlight {
    fn ids(&self) -> std::sync::MutexGuard<'_, HashSet<RequestId>> {
        // The set is never left half-changed, so a poisoned lock is usable.
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn add(&self, id: RequestId) {
        self.ids().insert(id);
    }

    pub(super) fn contains(&self, id: &RequestId) -> bool {
        self.ids().contains(id)
    }

    pub(super) fn answered(&self, id: &RequestId) {
        self.ids().remove(id);
        self.changed.notify_waiters();
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ids().is_empty()
    }

    /// Resolves at the next [`InFlight::answered`]; create it before
    /// checking [`InFlight::is_empty`] so no answer slips between the two.
    pub(super) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}
