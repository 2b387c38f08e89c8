//! A node answering a question it claimed: the prompt is rendered here,
//! in this node's folder of the module, under this node's policy for it
//! (nothing read from the store can widen it); the outcome is stored as
//! on one machine, and the store's notice wakes the asker.

use std::sync::Arc;

use super::Route;
use crate::hub::send_types::SendRequest;
use crate::hub::sending::{QueryFailure, Sending};
use crate::hub::{Hub, HubError};
use crate::store::{ClaimedQuery, MessageStatus, Outcome};

impl Hub {
    pub(super) async fn answer_claimed(self: &Arc<Self>, claimed: ClaimedQuery) {
        let query = claimed.query;
        let route: Route = serde_json::from_str(&claimed.route).unwrap_or_default();
        // Progress only for an asker that shows it.
        let (progress, forwarding) = if route.progress {
            let (sink, task) = self.progress_to_asker(&query.id);
            (Some(sink), Some(task))
        } else {
            (None, None)
        };
        let request = SendRequest {
            source: None,
            target: None,
            message: query.content.clone(),
            conversation_id: Some(query.conversation_id.clone()),
            timeout_s: route.timeout_s,
            idempotency_key: None,
            progress,
            cancel: Default::default(),
            reuse: route.reuse,
        };
        let started = std::time::Instant::now();
        match self.claimed_sending(&query, route.reuse).await {
            Ok(mut sending) => {
                let result = self.messaging().dispatch(&mut sending, &request).await;
                let duration_ms = started.elapsed().as_millis() as i64;
                // Every progress line goes out before the outcome, so the
                // asker hears them all before it is told the answer is in.
                drop(request);
                if let Some(forwarding) = forwarding {
                    let _ =
                        tokio::time::timeout(std::time::Duration::from_secs(2), forwarding).await;
                }
                self.node().beat_soon();
                if let Err(e) = self
                    .record_outcome(Box::new(sending), result, duration_ms)
                    .await
                {
                    tracing::info!(query = %query.id, asked_on = %route.asked_on, error = %e, "a claimed question ended without an answer");
                }
            }
            Err(e) => {
                // Refused here (a bad descriptor, no policy, no folder any
                // more): the asker is told why, at once.
                let target = self
                    .store
                    .conversation(&query.conversation_id)
                    .await
                    .map(|c| c.target)
                    .unwrap_or_default();
                let outcome = Outcome::Failed {
                    sender: target,
                    reason: format!(
                        "node \"{}\" could not start on it: {e}",
                        self.config().config.fleet.node_name()
                    ),
                    status: MessageStatus::Failed,
                    instance_id: None,
                    duration_ms: started.elapsed().as_millis() as i64,
                    cause: QueryFailure::Refused(String::new()).cause().to_string(),
                };
                let node = self.config().config.fleet.node_name();
                let closed = match self.node().fleet() {
                    Ok(fleet) => fleet.finish_claimed_query(&query.id, &node, outcome).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = closed {
                    tracing::warn!(query = %query.id, error = %e, "could not close a claimed question");
                }
            }
        }
        self.messages_changed();
    }

    /// A progress sink that tells the asker, on whatever node, through the
    /// store's notices; in order (one task sends them), never blocking the
    /// agent (a line that cannot be sent is dropped: progress is not kept).
    /// Returns the sink and the task that sends; the task ends once every
    /// clone of the sink is dropped and all it was given is sent.
    fn progress_to_asker(
        self: &Arc<Self>,
        query_id: &str,
    ) -> (crate::instances::ProgressSink, tokio::task::JoinHandle<()>) {
        let (lines, mut to_send) = tokio::sync::mpsc::unbounded_channel::<String>();
        let hub = self.clone();
        let id = query_id.to_string();
        let forwarding = tokio::spawn(async move {
            while let Some(line) = to_send.recv().await {
                let sent = match hub.node().fleet() {
                    Ok(fleet) => fleet.announce_progress(&id, &line).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = sent {
                    tracing::debug!(query = %id, error = %e, "progress not sent");
                }
            }
        });
        let sink: crate::instances::ProgressSink =
            Arc::new(move |p: crate::instances::Progress| {
                let _ = lines.send(p.message);
            });
        (sink, forwarding)
    }

    /// The [`Sending`] of a question another node stored: its history up
    /// to it, this node's folder and policy, the prompt rendered here.
    async fn claimed_sending(
        &self,
        query: &crate::store::Message,
        reuse: crate::hub::Reuse,
    ) -> Result<Sending, HubError> {
        let (conversation, messages) = self
            .store
            .conversation_since(&query.conversation_id, 0)
            .await?;
        let history: Vec<_> = messages.into_iter().filter(|m| m.seq < query.seq).collect();
        if let Some(endpoint) = self.a2a_endpoint(&conversation.target) {
            // An A2A agent pinned to this node: asked from here with the
            // asker's message as it is.
            let mut sending =
                self.sending_for_a2a(conversation, history, query.hop_chain.clone(), endpoint)?;
            sending.prompt_text = query.content.clone();
            sending.query = Some(query.clone());
            sending.claimant = Some(self.config().config.fleet.node_name());
            return Ok(sending);
        }
        // This node runs its agents its own way: its own backend, commands,
        // environment and policy. The backend the conversation was started
        // with elsewhere is only a preference; when it is not this node's,
        // the answer says so (it never fails for it).
        let own = self.config().config.instances.backend;
        let preferred = crate::hub::messaging::backend_of(&conversation, own);
        let note = (preferred != own).then(|| {
            format!(
                "node \"{}\" answered with its own backend {} (the conversation was started with {})",
                self.config().config.fleet.node_name(),
                own.as_str(),
                preferred.as_str()
            )
        });
        if let Some(note) = &note {
            tracing::info!(query = %query.id, "{note}");
        }
        let mut sending = self
            .messaging()
            .sending_for(
                conversation,
                history,
                &query.content,
                reuse,
                query.hop_chain.clone(),
                own,
            )
            .await?;
        let prompt = self
            .messaging()
            .render(&sending, &query.content, sending.resume.is_some())
            .map_err(|e| HubError::BadRequest(e.to_string()))?;
        let context_note = match (prompt.cut.as_deref(), note.as_deref()) {
            (Some(cut), Some(note)) => Some(format!("{note}; {cut}")),
            (cut, note) => note.or(cut).map(str::to_string),
        };
        self.store
            .set_query_context(&query.id, &prompt.template_version, context_note.as_deref())
            .await?;
        sending.prompt_text = prompt.text;
        sending.query = Some(query.clone());
        sending.claimant = Some(self.config().config.fleet.node_name());
        Ok(sending)
    }
}
