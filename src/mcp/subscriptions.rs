//! Resource subscriptions: a host that subscribes to `conversation://{id}`
//! gets `notifications/resources/updated` whenever a message of that
//! conversation lands, whichever server process wrote it (the watcher
//! follows the shared database, see [`crate::hub::Hub::follow_messages`]).
//!
//! Two protocol shapes share one watcher ([`follow`]): `resources/subscribe`
//! (up to 2025-11-25; one watcher per session, over every URI subscribed so
//! far) and 2026-07-28's `subscriptions/listen` (one watcher per open listen
//! request, over the URIs its filter names; closing the request ends it).

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{ResourceUpdatedNotificationParam, SubscriptionFilter};
use rmcp::service::{Peer, SubscriptionContext};
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
        hub.conversations()
            .get(id, Some(1), None)
            .await
            .map_err(|e| McpError::resource_not_found(e.to_string(), Some(json!({"uri": uri}))))?;
        let cursor = hub
            .conversations()
            .cursor()
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
    cursor: crate::hub::MessageCursor,
) {
    let closed = peer.clone();
    follow(
        &hub,
        cursor,
        |uri| subscriptions.uris().contains(uri),
        || closed.is_transport_closed(),
        |uri| {
            let peer = peer.clone();
            async move {
                peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                    .await
                    .is_ok()
            }
        },
    )
    .await;
}

/// What `subscriptions/listen` accepts of a filter: `conversation://{id}`
/// resources, the only ones that change. (rmcp then also drops what the
/// server does not advertise.)
pub(crate) fn accepted(requested: &SubscriptionFilter) -> SubscriptionFilter {
    let uris: Vec<String> = requested
        .resource_subscriptions
        .iter()
        .flatten()
        .filter(|uri| {
            uri.strip_prefix(CONVERSATION_SCHEME)
                .is_some_and(|id| !id.is_empty())
        })
        .cloned()
        .collect();
    let mut filter = SubscriptionFilter::new();
    filter.resource_subscriptions = (!uris.is_empty()).then_some(uris);
    filter
}

/// Runs one `subscriptions/listen` stream until the client closes it (or
/// the session ends): an update for each accepted conversation that gets a
/// message.
pub(crate) async fn listen(hub: &Arc<Hub>, context: SubscriptionContext) -> Result<(), McpError> {
    // A module token follows only conversations its module takes part in;
    // the others are dropped from what this listen follows.
    let caller = super::access::caller_of(context.request_context())?;
    let mut uris: HashSet<String> = HashSet::new();
    for uri in context.accepted().resource_subscriptions.iter().flatten() {
        match super::access::check_resource(hub, &caller, uri).await {
            Ok(()) => {
                uris.insert(uri.clone());
            }
            Err(e) => tracing::warn!(uri = %uri, reason = %e.message, "listen: not followed"),
        }
    }
    if uris.is_empty() {
        context.cancelled().await;
        return Ok(());
    }
    let cursor = hub
        .conversations()
        .cursor()
        .await
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    let sink = context.sink().clone();
    let watching = follow(
        hub,
        cursor,
        |uri| uris.contains(uri),
        || false,
        |uri| {
            let sink = sink.clone();
            async move { sink.notify_resource_updated(uri).await.is_ok() }
        },
    );
    tokio::select! {
        _ = context.cancelled() => {}
        _ = watching => {}
    }
    Ok(())
}

/// Follows messages stored after `cursor` and calls `notify` once per
/// conversation that got one and whose URI is `wanted`, until `notify`
/// fails (the client is gone) or `closed` says so.
async fn follow<Notified>(
    hub: &Hub,
    mut cursor: crate::hub::MessageCursor,
    wanted: impl Fn(&str) -> bool,
    closed: impl Fn() -> bool,
    notify: impl Fn(String) -> Notified,
) where
    Notified: Future<Output = bool>,
{
    loop {
        let (next, messages) = match hub.conversations().follow(cursor, None, WATCH_SLICE).await {
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
            .filter(|uri| wanted(uri))
            .collect();
        for uri in changed {
            if !notify(uri).await {
                return; // The host is gone.
            }
        }
        if closed() {
            return;
        }
    }
}
