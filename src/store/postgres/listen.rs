//! The store's notices (PostgreSQL `LISTEN`): one dedicated connection per
//! process (a pooled one could not keep listening), reconnected after any
//! loss. Notices sent while it was away are lost, so a reconnect is itself
//! a notice ([`Notice::Reconnected`]) on which every waiter re-reads.
//!
//! Behind a transaction-mode pooler LISTEN hears nothing (the pooler
//! hands the session to others), so the listener connects to
//! `[store] listen_url`, a direct connection. Without one, there is no
//! listener: the store polls, a [`Notice::Poll`] about once a second on
//! which every waiter re-reads (as River's poll-only mode does).

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

use super::PostgresStore;
use crate::store::fleet::Notice;

/// The channels claude-comms notifies on.
pub(super) const QUESTIONS: &str = "claude_comms_questions";
pub(super) const OUTCOMES: &str = "claude_comms_outcomes";
pub(super) const DESCRIPTORS: &str = "claude_comms_descriptors";
pub(super) const PROGRESS: &str = "claude_comms_progress";
pub(super) const INSTANCE_EVENTS: &str = "claude_comms_instance_events";
/// Ask-backs: the query id whose question back was stored or closed.
pub(super) const ASK_BACKS: &str = "claude_comms_ask_backs";
/// Instance control: `request <server id>` and `done <request id>`.
pub(super) const CONTROL: &str = "claude_comms_control";

/// How often waiters re-read when there is no listener.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// What the listener is doing, for `store status` and `fleet status`.
#[derive(Debug, Default)]
pub(super) struct ListenerState(AtomicU8);

const NOT_STARTED: u8 = 0;
const CONNECTING: u8 = 1;
const LISTENING: u8 = 2;
const POLLING: u8 = 3;

impl ListenerState {
    fn set(&self, state: u8) {
        self.0.store(state, Ordering::Relaxed);
    }
}

impl PostgresStore {
    /// A receiver of every notice from now on. The listening connection
    /// (or, without one, the poller) starts with the first call (on the
    /// caller's runtime) and lives as long as the store.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        let receiver = self.notices.subscribe();
        self.listener.get_or_init(|| {
            let sender = self.notices.clone();
            let state = self.listener_state.clone();
            match &self.listen_url {
                Some((url, tls)) => {
                    tokio::spawn(listen_forever(url.clone(), tls.clone(), sender, state))
                }
                None => {
                    tracing::warn!(
                        database = %self.url.subject(),
                        "no listener: [store] pooler = \"transaction\" and no [store] listen_url; polling the store about once a second instead of being notified (set listen_url to a direct connection for prompt notices)"
                    );
                    tokio::spawn(poll_forever(sender, state))
                }
            }
        });
        receiver
    }

    /// `listening`, `connecting`, `polling` or `not started`.
    pub(super) fn listener_state(&self) -> String {
        match self.listener_state.0.load(Ordering::Relaxed) {
            CONNECTING => "connecting",
            LISTENING => "listening",
            POLLING => "polling (no listener behind the pooler: set [store] listen_url)",
            NOT_STARTED if self.listen_url.is_none() => {
                "polling once asked (no listener behind the pooler: set [store] listen_url)"
            }
            _ => "not started",
        }
        .to_string()
    }
}

/// No listener: a [`Notice::Poll`] every [`POLL_EVERY`], on which waiters
/// re-read what they wait for.
async fn poll_forever(sender: broadcast::Sender<Notice>, state: std::sync::Arc<ListenerState>) {
    state.set(POLLING);
    let mut every = tokio::time::interval(POLL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let _ = sender.send(Notice::Poll);
    }
}

async fn listen_forever(
    url: super::StoreUrl,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    sender: broadcast::Sender<Notice>,
    state: std::sync::Arc<ListenerState>,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        state.set(CONNECTING);
        match url.config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                pause = Duration::from_millis(100);
                let forward = sender.clone();
                let driver = tokio::spawn(async move {
                    while let Some(message) =
                        std::future::poll_fn(|cx| connection.poll_message(cx)).await
                    {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                let notice = match n.channel() {
                                    QUESTIONS => Notice::Question {
                                        target: n.payload().to_string(),
                                    },
                                    DESCRIPTORS => Notice::Descriptors,
                                    ASK_BACKS => Notice::AskBack {
                                        query_id: n.payload().to_string(),
                                    },
                                    PROGRESS => match n.payload().split_once(' ') {
                                        Some((query_id, message)) => Notice::Progress {
                                            query_id: query_id.to_string(),
                                            message: super::text::restore(message.to_string()),
                                        },
                                        None => continue,
                                    },
                                    CONTROL => match n.payload().split_once(' ') {
                                        Some(("request", server_id)) => Notice::ControlRequested {
                                            server_id: server_id.to_string(),
                                        },
                                        Some(("done", id)) => match id.parse() {
                                            Ok(id) => Notice::ControlDone { id },
                                            Err(_) => continue,
                                        },
                                        _ => continue,
                                    },
                                    INSTANCE_EVENTS => match n.payload().split_once(' ') {
                                        Some((instance_id, event)) => Notice::InstanceEvent {
                                            instance_id: instance_id.to_string(),
                                            event: event.to_string(),
                                        },
                                        None => continue,
                                    },
                                    _ => Notice::Outcome {
                                        query_id: n.payload().to_string(),
                                    },
                                };
                                let _ = forward.send(notice);
                            }
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                });
                let listening = client
                    .batch_execute(&format!(
                        "LISTEN {QUESTIONS}; LISTEN {OUTCOMES}; LISTEN {DESCRIPTORS}; LISTEN {PROGRESS}; LISTEN {INSTANCE_EVENTS}; LISTEN {CONTROL}; LISTEN {ASK_BACKS}"
                    ))
                    .await;
                if listening.is_ok() {
                    // Listening (again): whatever was sent meanwhile is lost.
                    state.set(LISTENING);
                    let _ = sender.send(Notice::Reconnected);
                    let _ = driver.await;
                    tracing::warn!(database = %url.subject(), "lost the listening connection; reconnecting");
                } else {
                    driver.abort();
                }
                drop(client);
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot listen yet");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}
