//! Ids of requests received but not yet answered: to refuse a second
//! request with the same id (rmcp keys its bookkeeping by id, so one of the
//! two answers would be lost), and to answer what was asked before stdin
//! ended. A `subscriptions/listen` request is answered only when it is
//! closed, so it is in flight for the id check but not waited for.

use std::collections::HashSet;
use std::sync::Mutex;

use rmcp::model::RequestId;
use tokio::sync::Notify;

#[derive(Default)]
pub(super) struct InFlight {
    ids: Mutex<HashSet<RequestId>>,
    /// Of `ids`, those that stay open until the client closes them.
    open_ended: Mutex<HashSet<RequestId>>,
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

    /// Like [`InFlight::add`], for a request that lasts until the client
    /// closes it: end of stdin does not wait for its answer.
    pub(super) fn add_open_ended(&self, id: RequestId) {
        self.open_ended().insert(id.clone());
        self.ids().insert(id);
    }

    fn open_ended(&self) -> std::sync::MutexGuard<'_, HashSet<RequestId>> {
        self.open_ended.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn contains(&self, id: &RequestId) -> bool {
        self.ids().contains(id)
    }

    pub(super) fn answered(&self, id: &RequestId) {
        self.ids().remove(id);
        self.open_ended().remove(id);
        self.changed.notify_waiters();
    }

    /// Whether nothing is left to wait for (open-ended requests aside).
    pub(super) fn is_empty(&self) -> bool {
        let open_ended = self.open_ended().clone();
        self.ids().iter().all(|id| open_ended.contains(id))
    }

    /// Resolves at the next [`InFlight::answered`]; create it before
    /// checking [`InFlight::is_empty`] so no answer slips between the two.
    pub(super) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}
