//! `instances monitor` of an instance on another node. Its journal is a
//! file on that node, so the watcher asks the owner, with a control
//! request `watch N` (the path stop and pause take), for the last N events
//! and to publish the live ones as store notices. The owner publishes only
//! while a watch is renewed, so an instance nobody watches costs the
//! database nothing; the watcher renews every [`RENEW_EVERY`] and the
//! owner stops [`WATCH_LASTS`] after the last renewal (a watcher that died
//! stops costing soon).
//!
//! Events are redacted by the owner before they exist (see
//! `instances/process.rs`): nothing secret crosses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::super::{Hub, HubError, InstanceRow};
use crate::instances::InstanceEvent;
use crate::store::Notice;

/// The control action that starts or renews a watch: `watch N` asks for
/// the last N events too.
const WATCH: &str = "watch";

/// How often a watcher renews its watch.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// How long the owner publishes after the last renewal.
const WATCH_LASTS: Duration = Duration::from_secs(15);

/// The most of an event's text one notice carries (a notice holds under
/// 8,000 bytes with its JSON around it).
const NOTICE_TEXT_MAX: usize = 6000;

/// The most events published in one round trip.
const BATCH_MAX: usize = 64;

/// The most events of history the watcher asks for (the control result
/// holds 64 KiB; older events are dropped first to fit).
const HISTORY_MAX: usize = 500;

/// The instances of this process that another node watches, each until
/// when (renewals move it on).
#[derive(Default)]
pub(in crate::hub) struct Watches(Mutex<HashMap<String, Instant>>);

impl Watches {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The history a control action asks for, when it is a watch.
pub(in crate::hub) fn watch_request(action: &str) -> Option<usize> {
    let rest = action.strip_prefix(WATCH)?;
    if rest.is_empty() {
        return Some(0);
    }
    rest.strip_prefix(' ')?
        .parse::<usize>()
        .ok()
        .map(|n| n.min(HISTORY_MAX))
}

impl Hub {
    /// The owner's side: starts (or renews) publishing the events of its
    /// instance `instance_id`; the last `history` events as a JSON list.
    pub(in crate::hub) async fn start_watch(
        self: &Arc<Self>,
        instance_id: &str,
        history: usize,
    ) -> Result<String, HubError> {
        // Subscribed before the history is read: an event in between is
        // sent twice rather than never (the watcher drops the repeat).
        let events = self.instances().subscribe(instance_id)?;
        let until = Instant::now() + WATCH_LASTS;
        let renewed = self
            .watches
            .lock()
            .insert(instance_id.to_string(), until)
            .is_some();
        if !renewed {
            let hub = Arc::downgrade(self);
            self.spawn_until_shutdown(publish_events(hub, instance_id.to_string(), events));
        }
        let recent = self
            .instances()
            .recent_local_events(instance_id, history)
            .await;
        Ok(history_for_the_store(recent))
    }

    /// The watcher's side: asks the owner of `row`'s instance for its last
    /// `history` events and to publish the rest.
    pub(in crate::hub) async fn follow_on_its_node(
        self: &Arc<Self>,
        row: &InstanceRow,
        history: usize,
    ) -> Result<(Vec<InstanceEvent>, RemoteEvents), HubError> {
        // Listening before asking: nothing the owner sends is missed.
        let notices = self.store.fleet().map(|f| f.notices()).ok_or_else(|| {
            HubError::Fleet("a fleet's store has notices, this one has none".into())
        })?;
        let instance_id = row.instance.id.clone();
        let action = format!("{WATCH} {}", history.min(HISTORY_MAX));
        let text = self.instances().await_control(row, &action).await?;
        let recent: Vec<InstanceEvent> = serde_json::from_str(&text).map_err(|e| {
            HubError::Fleet(format!(
                "the node of instance {instance_id} sent an unreadable history: {e}"
            ))
        })?;
        let renewal = tokio::spawn(renew_watch(
            Arc::downgrade(self),
            row.clone(),
            instance_id.clone(),
        ));
        Ok((
            recent.clone(),
            RemoteEvents {
                instance_id,
                notices,
                already_seen: recent,
                renewal,
            },
        ))
    }
}

/// Publishes `instance_id`'s events until its watch lapses or it ends.
async fn publish_events(
    hub: Weak<Hub>,
    instance_id: String,
    mut events: broadcast::Receiver<InstanceEvent>,
) {
    loop {
        let Some(until) = hub.upgrade().and_then(|hub| {
            let mut watches = hub.watches.lock();
            let until = *watches.get(&instance_id)?;
            if Instant::now() >= until {
                watches.remove(&instance_id);
                return None;
            }
            Some(until)
        }) else {
            return;
        };
        let first = match tokio::time::timeout_at(until, events.recv()).await {
            Err(_) => continue, // look again: a renewal may have come
            Ok(Ok(event)) => event,
            Ok(Err(RecvError::Lagged(skipped))) => gap(&instance_id, skipped),
            Ok(Err(RecvError::Closed)) => {
                if let Some(hub) = hub.upgrade() {
                    hub.watches.lock().remove(&instance_id);
                }
                return;
            }
        };
        let mut batch = vec![notice_of(&first)];
        while batch.len() < BATCH_MAX {
            match events.try_recv() {
                Ok(event) => batch.push(notice_of(&event)),
                Err(broadcast::error::TryRecvError::Lagged(skipped)) => {
                    batch.push(notice_of(&gap(&instance_id, skipped)))
                }
                Err(_) => break,
            }
        }
        let Some(hub) = hub.upgrade() else { return };
        let published = match hub.node().fleet() {
            Ok(fleet) => fleet.announce_instance_events(&instance_id, &batch).await,
            Err(e) => Err(e),
        };
        if let Err(e) = published {
            tracing::warn!(instance = %instance_id, error = %e, "could not publish instance events to their watcher");
        }
    }
}

/// Renews the watch of `instance_id` until the follower is dropped (which
/// aborts this task) or the hub is gone.
async fn renew_watch(hub: Weak<Hub>, row: InstanceRow, instance_id: String) {
    let action = format!("{WATCH} 0");
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let Some(hub) = hub.upgrade() else { return };
        // Not waited for: the owner acts within its control poll.
        if let Err(e) = hub
            .store
            .request_control(&row.server_id, &instance_id, &action)
            .await
        {
            tracing::warn!(instance = %instance_id, error = %e, "could not renew the watch");
        }
    }
}

/// The events of an instance on another node, as its node publishes them.
pub struct RemoteEvents {
    instance_id: String,
    notices: broadcast::Receiver<Notice>,
    /// The history the owner sent: the same events may come once more
    /// live (see [`Hub::start_watch`]).
    already_seen: Vec<InstanceEvent>,
    renewal: tokio::task::JoinHandle<()>,
}

impl RemoteEvents {
    /// The next event of the instance; waits for one.
    pub(in crate::hub) async fn next(&mut self) -> Result<InstanceEvent, HubError> {
        loop {
            let event = match self.notices.recv().await {
                Ok(Notice::InstanceEvent { instance_id, event })
                    if instance_id == self.instance_id =>
                {
                    event
                }
                Ok(Notice::Reconnected) => {
                    return Ok(note(
                        &self.instance_id,
                        "the connection to the store was lost for a moment: events may be missing",
                    ));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(skipped)) => return Ok(gap(&self.instance_id, skipped)),
                Err(RecvError::Closed) => {
                    return Err(HubError::Fleet("the store's notices ended".into()));
                }
            };
            let Ok(event) = serde_json::from_str::<InstanceEvent>(&event) else {
                continue;
            };
            if self.is_a_repeat(&event) {
                continue;
            }
            return Ok(event);
        }
    }

    /// Whether `event` is one of the history already given.
    fn is_a_repeat(&mut self, event: &InstanceEvent) -> bool {
        let Some(last) = self.already_seen.last() else {
            return false;
        };
        if event.at_ms > last.at_ms {
            // Past the history: no repeat can follow.
            self.already_seen.clear();
            return false;
        }
        event.at_ms < last.at_ms
            || self.already_seen.iter().any(|seen| {
                seen.at_ms == event.at_ms && seen.kind == event.kind && seen.text == event.text
            })
    }
}

impl Drop for RemoteEvents {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

/// An event as one notice's payload: JSON, its text cut to fit.
fn notice_of(event: &InstanceEvent) -> String {
    let mut event = event.clone();
    event.text = crate::store::limits::clip(&event.text, NOTICE_TEXT_MAX).into_owned();
    serde_json::to_string(&event).unwrap_or_default()
}

/// How long a control result may be: it is stored as a note (the limit
/// `instance_control.rs` keeps too, without this module importing it).
const CONTROL_RESULT_BYTES: usize = crate::store::limits::MAX_NOTE_BYTES;

/// The history as a control result: a JSON list within its limit, the
/// oldest events dropped first.
fn history_for_the_store(mut recent: Vec<InstanceEvent>) -> String {
    loop {
        let text = serde_json::to_string(&recent).unwrap_or_else(|_| "[]".into());
        if text.len() <= CONTROL_RESULT_BYTES || recent.is_empty() {
            return text;
        }
        let drop = (recent.len() / 4).max(1);
        recent.drain(..drop);
    }
}

/// An event that says `skipped` events were lost on the way.
fn gap(instance_id: &str, skipped: u64) -> InstanceEvent {
    note(
        instance_id,
        &format!("{skipped} events were skipped: they came faster than they could be sent"),
    )
}

fn note(instance_id: &str, text: &str) -> InstanceEvent {
    InstanceEvent {
        instance_id: instance_id.to_string(),
        at_ms: crate::time::now_ms(),
        kind: "note".into(),
        text: text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_ms: i64, text: &str) -> InstanceEvent {
        InstanceEvent {
            instance_id: "i".into(),
            at_ms,
            kind: "stderr".into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_watch_action_says_how_much_history_and_nothing_else_is_one() {
        assert_eq!(watch_request("watch"), Some(0));
        assert_eq!(watch_request("watch 20"), Some(20));
        assert_eq!(watch_request("watch 999999"), Some(HISTORY_MAX));
        assert_eq!(watch_request("watchful"), None);
        assert_eq!(watch_request("watch -1"), None);
        assert_eq!(watch_request("stop"), None);
    }

    #[test]
    fn a_long_event_fits_one_notice_and_stays_readable() {
        let long = event(1, &"é".repeat(10_000));
        let payload = notice_of(&long);
        assert!(payload.len() < 8000, "{}", payload.len());
        let back: InstanceEvent = serde_json::from_str(&payload).unwrap();
        assert!(back.text.ends_with("more bytes cut]"), "{}", back.text);
    }

    #[test]
    fn a_long_history_keeps_its_newest_events_within_the_limit() {
        let recent: Vec<_> = (0..500).map(|i| event(i, &"x".repeat(400))).collect();
        let text = history_for_the_store(recent);
        assert!(text.len() <= super::CONTROL_RESULT_BYTES);
        let back: Vec<InstanceEvent> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.last().unwrap().at_ms, 499);
        assert!(back.len() > 50 && back.len() < 500, "{}", back.len());
    }

    #[tokio::test]
    async fn history_events_sent_again_live_are_dropped_and_later_ones_kept() {
        let (_sender, notices) = broadcast::channel(4);
        let mut remote = RemoteEvents {
            instance_id: "i".into(),
            notices,
            already_seen: vec![event(5, "a"), event(7, "b")],
            renewal: tokio::spawn(async {}),
        };
        assert!(remote.is_a_repeat(&event(5, "a")));
        assert!(remote.is_a_repeat(&event(7, "b")));
        assert!(!remote.is_a_repeat(&event(7, "c")), "same ms, new event");
        assert!(!remote.is_a_repeat(&event(8, "d")));
        assert!(!remote.is_a_repeat(&event(7, "b")), "history is over");
    }
}
