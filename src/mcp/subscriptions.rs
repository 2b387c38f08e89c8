//! Resource subscriptions: a host that subscribes to `conversation://{id}`
//! gets `notifications/resources/updated` whenever a message of that
//! conversation lands, whichever server process wrote it (the watcher
//! follows the shared database, see [`crate::hub::Hub::follow_messages`]).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::ResourceUpdatedNotificationParam;
use rmcp::service::Peer;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::json;

use super::resources::CONVERSATION_SCHEME;
use crate::hub::Hub;

/// How long one wait for new messages lasts before the watcher checks
/// whether it is still needed.
const WATCH_SLICE: Duration = Duration::from_secs(30);

#[derive(Default)]
pub(crate) struct Subscriptions {
    uris: Mutex<HashSet<String>>,
    watching: Mutex<bool>,
}

impl Subscriptions {
    fn uris(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.uris.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        hub: &Arc<Hub>,
        peer: Peer<RoleServer>,
        uri: &str,
    ) -> Result<(), McpError> {
        let Some(id) = uri.strip_prefix(CONVERSATION_SCHEME) else {
            return Err(McpError::invalid_params(
                format!(
                    "cannot subscribe to \"{uri}\": only conversation://{{id}} resources change"
                ),
                Some(json!({"uri": uri})),
            ));
        };
        hub.get_conversation(id, Some(1), None)
            .await
            .map_err(|e| McpError::resource_not_found(e.to_string(), Some(json!({"uri": uri}))))?;
        let cursor = hub
            .message_cursor()
            .await
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        self.uris().insert(uri.to_string());
        let start = {
            let mut watching = self.watching.lock().unwrap_or_else(|e| e.into_inner());
            !std::mem::replace(&mut *watching, true)
        };
        if start {
            hub.spawn_until_shutdown(watch(self.clone(), hub.clone(), peer, cursor));
        }
        Ok(())
    }

    pub(crate) fn unsubscribe(&self, uri: &str) {
        self.uris().remove(uri);
    }
}

async fn watch(
    subscriptions: Arc<Subscriptions>,
    hub: Arc<Hub>,
    peer: Peer<RoleServer>,
    mut cursor: i64,
) {
    loop {
        let (next, messages) = match hub.follow_messages(cursor, None, WATCH_SLICE).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "subscription watcher: cannot read new messages");
                tokio::time::sleep(WATCH_SLICE).await;
                continue;
            }
        };
        cursor = next;
        let changed: BTreeSet<String> = messages
            .iter()
            .map(|m| format!("{CONVERSATION_SCHEME}{}", m.conversation_id))
            .filter(|uri| subscriptions.uris().contains(uri))
            .collect();
        for uri in changed {
            if peer
                .notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                .await
                .is_err()
            {
                return; // The host is gone.
            }
        }
        if peer.is_transport_closed() {
            return;
        }
    }
}
