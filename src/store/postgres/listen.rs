//! The store's notices (PostgreSQL `LISTEN`): one dedicated connection per
//! process (a pooled one could not keep listening), reconnected after any
//! loss. Notices sent while it was away are lost, so a reconnect is itself
//! a notice ([`Notice::Reconnected`]) on which every waiter re-reads.

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

impl PostgresStore {
    /// A receiver of every notice from now on. The listening connection
    /// starts with the first call (on the caller's runtime) and lives as
    /// long as the store.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        let receiver = self.notices.subscribe();
        self.listener.get_or_init(|| {
            let url = self.url.clone();
            let tls = self.tls.clone();
            let sender = self.notices.clone();
            tokio::spawn(listen_forever(url, tls, sender))
        });
        receiver
    }
}

async fn listen_forever(
    url: super::StoreUrl,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    sender: broadcast::Sender<Notice>,
) {
    let mut pause = Duration::from_millis(100);
    loop {
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
                                    PROGRESS => match n.payload().split_once(' ') {
                                        Some((query_id, message)) => Notice::Progress {
                                            query_id: query_id.to_string(),
                                            message: message.to_string(),
                                        },
                                        None => continue,
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
                        "LISTEN {QUESTIONS}; LISTEN {OUTCOMES}; LISTEN {DESCRIPTORS}; LISTEN {PROGRESS}; LISTEN {INSTANCE_EVENTS}"
                    ))
                    .await;
                if listening.is_ok() {
                    // Listening (again): whatever was sent meanwhile is lost.
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
