//! The asking side of a routed question: is the target hosted here or by a
//! live node; store and route the query; wait for the node's outcome.

use std::time::{Duration, Instant};

use super::Route;
use crate::hub::send_types::{SendOutcome, SendRequest};
use crate::hub::sending::Prepared;
use crate::hub::{Hub, HubError};
use crate::store::{BeginQuery, Conversation, Message, MessageStatus, NewQuery, Notice, Role};

/// The slow safety net of a wait: re-read the query this often even when
/// no notice came (a notice lost while the listener reconnected).
const RECHECK_EVERY: Duration = Duration::from_secs(2);

impl Hub {
    /// Whether a question to `target` goes through the fleet: the store
    /// holds one and the module's folder is not on this machine. When no
    /// live node hosts it, that is an error at once, never a wait.
    pub(in crate::hub) async fn routes_through_fleet(
        &self,
        target: &str,
    ) -> Result<bool, HubError> {
        let here = match self.a2a_endpoint(target) {
            // An A2A agent is asked from here unless it is pinned to
            // another node (`a2a.node`).
            Some(endpoint) => endpoint
                .node
                .is_none_or(|node| node == self.config().config.fleet.node_name()),
            None => self
                .modules()
                .folder(target)
                .map(|f| f.is_dir())
                .unwrap_or(false),
        };
        if here || !self.node().in_a_fleet() {
            return Ok(false);
        }
        self.live_host_of(target).await?;
        Ok(true)
    }

    /// The folder of `target` is here, or a live node hosts it.
    pub(in crate::hub) async fn check_reachable(&self, target: &str) -> Result<(), HubError> {
        if self.a2a_endpoint(target).is_some() {
            // An A2A agent: reached over HTTP from any node, or through the
            // node it is pinned to.
            return self.routes_through_fleet(target).await.map(|_| ());
        }
        match self.messaging().existing_module_folder(target) {
            Ok(_) => Ok(()),
            Err(_) if self.node().in_a_fleet() => self.live_host_of(target).await.map(|_| ()),
            Err(e) => Err(e),
        }
    }

    /// A live node that hosts `module`, or an error naming where and when
    /// it was last hosted.
    async fn live_host_of(&self, module: &str) -> Result<String, HubError> {
        let hosting = self
            .node()
            .fleet()?
            .nodes_hosting(module, self.lease_ms())
            .await?;
        if let Some(live) = hosting.iter().find(|n| n.alive) {
            return Ok(live.record.name.clone());
        }
        let last = hosting.iter().min_by_key(|n| n.heard_ms_ago);
        Err(HubError::BadRequest(match last {
            Some(n) => format!(
                "no live node hosts module \"{module}\": it was last hosted by node \"{}\", last heard from {} s ago{}; start that node's daemon, or give a live node the module's folder",
                n.record.name,
                n.heard_ms_ago / 1000,
                if n.stopped {
                    " (it left the fleet)"
                } else {
                    ""
                }
            ),
            None => format!(
                "no node of the fleet hosts module \"{module}\" (none has its folder), and it is not on this machine; set module_paths.{module} on a node that has its code"
            ),
        }))
    }

    pub(in crate::hub) fn lease_ms(&self) -> i64 {
        self.config().config.fleet.lease_s as i64 * 1000
    }

    /// Stores the query and hands it to the fleet.
    pub(in crate::hub) async fn prepare_routed(
        &self,
        conversation: Conversation,
        history: &[Message],
        chain: Vec<String>,
        request: &SendRequest,
    ) -> Result<Prepared, HubError> {
        // The node that answered the last routed turn, if any.
        let prefer = history.iter().rev().find_map(|m| m.node.clone());
        let new_query = NewQuery {
            conversation_id: conversation.id.clone(),
            sender: conversation.source.clone(),
            content: request.message.clone(),
            idempotency_key: request.idempotency_key.clone(),
            hop_chain: chain,
            owner: self.server_id().to_string(),
            // The answering node renders the prompt and records its template.
            template_version: None,
            context_note: None,
        };
        let caps = self.message_caps(&conversation.source, &conversation.target);
        let query = match self.messaging().begin_capped(new_query, caps).await? {
            BeginQuery::Fresh(query) => query,
            BeginQuery::Duplicate { query, outcome } => {
                return Ok(Prepared::Duplicate(Box::new(
                    self.messaging()
                        .earlier_outcome(&conversation, query, outcome.map(|b| *b)),
                )));
            }
        };
        self.messages_changed();
        let route = Route {
            timeout_s: request.timeout_s,
            reuse: request.reuse,
            asked_on: self.config().config.fleet.node_name(),
            progress: request.progress.is_some(),
        };
        let route = serde_json::to_string(&route).unwrap_or_default();
        if let Err(e) = self
            .node()
            .fleet()?
            .route_query(&query.id, &conversation.target, &route, prefer.as_deref())
            .await
        {
            // Stored but not routed: close it, so nothing waits for it.
            let _ = self
                .store
                .finish_query(
                    &query.id,
                    crate::store::Outcome::Failed {
                        sender: conversation.target.clone(),
                        reason: format!("the question could not be handed to the fleet: {e}"),
                        status: MessageStatus::Failed,
                        instance_id: None,
                        duration_ms: 0,
                        cause: "store".into(),
                    },
                )
                .await;
            return Err(e.into());
        }
        Ok(Prepared::Routed(Box::new((conversation, query))))
    }

    /// Waits for the outcome of a routed query: a notice wakes the wait,
    /// a slow re-read covers notices lost in a reconnect. Bounded by the
    /// request's timeout plus a lease.
    pub(in crate::hub) async fn await_routed(
        &self,
        conversation: &Conversation,
        query: Message,
        request: &SendRequest,
    ) -> Result<SendOutcome, HubError> {
        let timeout = self.messaging().answer_timeout(request.timeout_s)
            + Duration::from_millis(self.lease_ms() as u64);
        let deadline = Instant::now() + timeout;
        let mut notices = self.store.fleet().map(|f| f.notices());
        loop {
            if let Some(outcome) = self.routed_outcome(conversation, &query).await? {
                return outcome;
            }
            // The agent on the other node asks back: the question is in
            // the store; the node that runs the agent carries the query on.
            if let Some(asked) = self.messaging().input_request(&query.id).await? {
                let mut outcome = self.jobs().pending_outcome(conversation, &query.id);
                outcome.status = super::super::ask_back::INPUT_REQUIRED.into();
                outcome.input_request = Some(asked);
                return Ok(outcome);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(HubError::QueryFailed {
                    explanation: format!(
                        "no node answered within {} s; the question stays pending (`claude-comms jobs show {}`)",
                        timeout.as_secs(),
                        query.id
                    ),
                    reason: "timeout".into(),
                    conversation_id: conversation.id.clone(),
                    message_id: query.id,
                });
            }
            let wake = super::next_notice(&mut notices, |notice| match notice {
                // Its outcome, or the agent on the other node asking back.
                Notice::Outcome { query_id } | Notice::AskBack { query_id } => query_id == query.id,
                // What the agent on the other node is doing, passed on as
                // if it ran here.
                Notice::Progress { query_id, message } if query_id == query.id => {
                    if let Some(progress) = &request.progress {
                        progress(crate::instances::Progress { message });
                    }
                    false
                }
                _ => false,
            });
            tokio::select! {
                _ = wake => {}
                _ = tokio::time::sleep(left.min(RECHECK_EVERY)) => {}
                _ = request.cancel.cancelled() => {
                    return Err(HubError::QueryFailed {
                        explanation: format!(
                            "cancelled while another node works on it; its answer will still be stored (`claude-comms jobs show {}`)",
                            query.id
                        ),
                        reason: "cancelled".into(),
                        conversation_id: conversation.id.clone(),
                        message_id: query.id,
                    });
                }
            }
        }
    }

    /// The outcome of a routed query once there is one.
    async fn routed_outcome(
        &self,
        conversation: &Conversation,
        query: &Message,
    ) -> Result<Option<Result<SendOutcome, HubError>>, HubError> {
        // The state first: a query is closed in the transaction that
        // stores its outcome, so once it is not pending the outcome (if
        // any) is there to read.
        let routed = self.node().fleet()?.routed_state(&query.id).await?;
        let state = routed.state;
        if state.status == MessageStatus::Pending {
            return Ok(None);
        }
        if let Some(outcome) = routed.outcome {
            return Ok(Some(match outcome.role {
                Role::Reply => {
                    let mut delivered = self.jobs().delivered_outcome(
                        conversation,
                        query.id.clone(),
                        outcome,
                        false,
                    );
                    delivered.retried = (state.retries > 0).then(|| {
                        format!(
                            "asked again on node \"{}\": the node that first took it stopped renewing its lease",
                            state.claimed_by.as_deref().unwrap_or("?")
                        )
                    });
                    delivered.node = state.claimed_by;
                    delivered.note = routed.note;
                    Ok(delivered)
                }
                _ => Err(HubError::QueryFailed {
                    explanation: format!(
                        "{} could not answer: {}",
                        conversation.target, outcome.content
                    ),
                    reason: outcome.content,
                    conversation_id: conversation.id.clone(),
                    message_id: query.id.clone(),
                }),
            }));
        }
        let reason = state
            .error
            .unwrap_or_else(|| format!("the question is {}", state.status.as_str()));
        Ok(Some(Err(HubError::QueryFailed {
            explanation: format!("{} did not answer: {reason}", conversation.target),
            reason,
            conversation_id: conversation.id.clone(),
            message_id: query.id.clone(),
        })))
    }
}
