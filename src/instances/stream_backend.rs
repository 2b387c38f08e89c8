//! The claude-stream backend: one persistent `claude` stream-json process
//! per conversation, fed one user message per turn, so later turns skip the
//! CLI's start-up. At most `max_warm` processes stay warm; the least
//! recently used idle one is stopped and its conversation resumes with
//! `--resume` next time. A process whose profile (hop context, permission
//! policy) differs from the turn's is replaced, resuming the session.

use std::sync::Arc;
use std::time::Instant;

use super::instance::{Instance, InstanceState};
use super::limits::{
    JOURNAL_TEXT_CHARS, PROGRESS_TEXT_CHARS, deadline_of, report, run_with_limits, tool_progress,
    truncate,
};
use super::manager::InstanceManager;
use super::stream_child::{StreamChild, TurnEvent, launch_for};
use super::supervisor::SupervisorEvent;
use super::{Answer, InstanceError, Progress, Query};
use crate::config::BackendKind;

impl InstanceManager {
    pub(super) async fn query_stream(&self, q: Query) -> Result<Answer, InstanceError> {
        let deadline = deadline_of(&q, tokio::time::Instant::now());
        let instance = self.stream_instance_for(&q);
        if instance.book().state == InstanceState::CrashLoop {
            return Err(InstanceError::Unavailable(format!(
                "stream instance {} is in crash-loop (last error: {})",
                instance.id,
                instance.book().last_error.clone().unwrap_or_default()
            )));
        }
        report(&q, format!("queued for {}'s persistent agent", q.target));
        instance.book().in_flight += 1;
        let _slot = StreamSlot(instance.clone());
        let waiting = format!("waiting for {}'s persistent agent", q.target);
        let mut guard = run_with_limits(
            async { Ok::<_, InstanceError>(instance.stream.lock().await) },
            &q,
            deadline,
            &waiting,
        )
        .await?;
        instance.book().last_used = Instant::now();
        let alive = guard
            .as_ref()
            .is_some_and(|c| c.process.has_exited().is_none() && c.profile == q.profile);
        // A standby process holds no session yet: its first turn is a first query.
        let mut continued = alive && guard.as_ref().is_some_and(|c| c.session_id.is_some());
        if !alive {
            if let Some(old) = guard.take() {
                instance.book().stopping_on_purpose = true;
                old.stop().await;
            }
            let resume = instance
                .book()
                .session_id
                .clone()
                .or(q.resume_session.clone());
            self.evict_for_room(&instance.id).await;
            let launch = launch_for(
                &self.shared.config.claude_stream,
                &q.workdir,
                resume.as_deref(),
                &q.profile,
            );
            instance.set_state(InstanceState::Starting);
            match StreamChild::start(
                &launch,
                instance.log.clone(),
                resume.as_deref(),
                q.profile.clone(),
                &self.shared.tasks,
            ) {
                Ok(child) => {
                    {
                        let mut book = instance.book();
                        book.pid = Some(child.process.pid);
                        book.stopping_on_purpose = false;
                    }
                    *guard = Some(child);
                    continued = resume.is_some();
                }
                Err(e) => {
                    self.tell_supervisor(SupervisorEvent::Failed {
                        instance: instance.clone(),
                        error: e.to_string(),
                    });
                    return Err(e);
                }
            }
        }
        let Some(child) = guard.as_mut() else {
            return Err(InstanceError::Unavailable(format!(
                "stream instance {} has no process",
                instance.id
            )));
        };
        instance.set_state(InstanceState::Busy);
        report(&q, format!("dispatched to instance {}", instance.id));
        let dispatched = Instant::now();
        let first_turn_of_resume = child.turns == 0 && child.session_id.is_some();
        let progress = q.progress.clone();
        let log = instance.log.clone();
        instance
            .log
            .event("request", format!("{} asks {}", q.source, q.target));
        child.follow_question(q.agent_scope.as_deref());
        let turn = child.turn(&q.prompt, move |event| {
            let message = match event {
                TurnEvent::Assistant(text) => {
                    // What the agent says as it works, for `monitor-instance`.
                    log.event("assistant", truncate(text, JOURNAL_TEXT_CHARS).to_string());
                    format!("assistant: {}", truncate(text, PROGRESS_TEXT_CHARS))
                }
                TurnEvent::Tool(used) => {
                    let line = tool_progress(used);
                    log.event("tool", line.clone());
                    line
                }
            };
            if let Some(p) = &progress {
                p(Progress { message });
            }
        });
        let doing = format!("waiting for {}'s agent", q.target);
        let outcome = run_with_limits(turn, &q, deadline, &doing).await;
        if let Some(child) = guard.as_ref() {
            child.follow_question(None);
        }
        let duration_ms = dispatched.elapsed().as_millis() as u64;
        match outcome {
            Ok(result) => {
                {
                    let mut book = instance.book();
                    book.session_id = result.session_id.clone();
                    book.served += 1;
                }
                instance.set_state(InstanceState::Ready);
                instance.log.event(
                    "reply",
                    format!(
                        "in {duration_ms} ms: {}",
                        truncate(&result.text, JOURNAL_TEXT_CHARS)
                    ),
                );
                report(&q, format!("answered in {duration_ms} ms"));
                self.keep_standby_for(&q);
                Ok(Answer {
                    text: result.text,
                    instance_id: instance.id.clone(),
                    duration_ms,
                    session_id: result.session_id,
                    usage: result.usage,
                    cost_usd: result.cost_usd,
                    api_duration_ms: result.api_duration_ms,
                    num_turns: result.num_turns,
                    session_continued: continued,
                    tool_uses: result.tool_uses,
                })
            }
            Err(e) => {
                // The turn was cut (timeout, cancel) or the process died:
                // end the process; the next turn resumes the session.
                if let Some(child) = guard.take() {
                    instance.book().stopping_on_purpose = true;
                    child.stop().await;
                }
                instance.book().pid = None;
                instance.set_state(InstanceState::Stopped);
                if matches!(e, InstanceError::ChildDied { .. }) {
                    self.tell_supervisor(SupervisorEvent::Failed {
                        instance: instance.clone(),
                        error: e.to_string(),
                    });
                    if first_turn_of_resume {
                        let lost = instance.book().session_id.take().unwrap_or_default();
                        return Err(InstanceError::SessionLost(lost));
                    }
                }
                Err(e)
            }
        }
    }

    fn stream_instance_for(&self, q: &Query) -> Arc<Instance> {
        let mut state = self.state();
        if let Some(instance) = state
            .by_conversation
            .get(&q.conversation_id)
            .and_then(|id| state.instances.get(id))
        {
            return instance.clone();
        }
        if let Some(standby) = self.adopt_standby_locked(&mut state, q) {
            return standby;
        }
        self.new_instance_locked(
            &mut state,
            BackendKind::ClaudeStream,
            Some(q.target.clone()),
            Some(q.conversation_id.clone()),
            q.profile.clone(),
            None,
        )
    }

    /// Keeps the warm stream processes (standbys included) within
    /// `max_warm` and `max_warm_memory_mb` with room for one more: stops
    /// idle standbys first, then the least recently used idle process. A
    /// stopped conversation resumes with `--resume` next time.
    pub(super) async fn evict_for_room(&self, for_id: &str) {
        loop {
            if self.stream_room_for_one_more(Some(for_id)) {
                return;
            }
            let victim = {
                let state = self.state();
                state
                    .instances
                    .values()
                    .filter(|i| {
                        let book = i.book();
                        i.backend == BackendKind::ClaudeStream
                            && i.id != for_id
                            && book.pid.is_some()
                            && book.in_flight == 0
                    })
                    .min_by_key(|i| {
                        let book = i.book();
                        // Automatic standbys go first; a named instance
                        // was asked for by an operator, like a conversation.
                        (
                            book.conversation_id.is_some() || i.name.is_some(),
                            book.last_used,
                        )
                    })
                    .cloned()
            };
            let Some(victim) = victim else {
                tracing::warn!(
                    "the warm stream processes are over their caps, and every one is busy"
                );
                return;
            };
            tracing::info!(instance = %victim.id, "evicting the least recently used stream instance");
            let standby = victim.book().conversation_id.is_none();
            self.stop_child(&victim).await;
            if standby {
                let mut state = self.state();
                state.standby.retain(|_, id| *id != victim.id);
                state.instances.remove(&victim.id);
            }
        }
    }

    /// Whether one more stream process fits beside the running ones (not
    /// counting `except`): fewer than `max_warm`, and their memory plus one
    /// more of their average size within the memory budget.
    pub(super) fn stream_room_for_one_more(&self, except: Option<&str>) -> bool {
        let max_warm = self.shared.config.claude_stream.max_warm.max(1);
        let pids: Vec<u32> = {
            let state = self.state();
            state
                .instances
                .values()
                .filter(|i| i.backend == BackendKind::ClaudeStream && Some(i.id.as_str()) != except)
                .filter_map(|i| i.book().pid)
                .collect()
        };
        if pids.len() >= max_warm {
            return false;
        }
        if pids.is_empty() {
            return true;
        }
        let total: u64 = super::memory::rss_of_groups(&pids).values().sum();
        let one_more = total / pids.len() as u64;
        total + one_more <= self.shared.warm_budget_kib
    }
}

/// A turn's claim on a stream instance, released however the turn ends.
struct StreamSlot(Arc<Instance>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut book = self.0.book();
        book.in_flight = book.in_flight.saturating_sub(1);
        book.last_used = Instant::now();
    }
}
