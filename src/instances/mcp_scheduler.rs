//! The claude-code-mcp backend's scheduler: a lane (module pair and child
//! profile) sticks to one healthy child; past a child's `max_in_flight`
//! its requests wait in a FIFO queue of their own, and queues are served
//! round-robin so no lane starves. A child serves only lanes of the
//! profile it was started with (hop context, permission policy).

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::instance::{Instance, InstanceState};
use super::limits::{JOURNAL_TEXT_CHARS, deadline_of, report, run_with_limits, truncate};
use super::manager::{Grant, InstanceManager, Lane, PoolState};
use super::mcp_child::McpChild;
use super::supervisor::SupervisorEvent;
use super::{Answer, ChildProfile, InstanceError, Query};
use crate::config::BackendKind;

enum Placement {
    Now(Arc<Instance>),
    Wait(oneshot::Receiver<Grant>, usize),
}

impl InstanceManager {
    pub(super) async fn query_mcp(&self, q: Query) -> Result<Answer, InstanceError> {
        let deadline = deadline_of(&q, tokio::time::Instant::now());
        let lane = Lane::of(&q);
        let instance = match self.acquire(&lane)? {
            Placement::Now(instance) => instance,
            Placement::Wait(rx, position) => {
                report(&q, format!("queued for {} (position {position})", q.target));
                let waiting = format!("waiting in queue for {}", q.target);
                run_with_limits(granted(rx), &q, deadline, &waiting).await?
            }
        };
        let _slot = Slot {
            manager: self.clone(),
            instance: instance.clone(),
        };
        report(&q, format!("dispatched to instance {}", instance.id));
        let child = match instance.live_mcp_child().await {
            Some(child) => child,
            None => {
                // The start goes on without us if the caller gives up, so
                // the next request finds the child ready.
                let starting = {
                    let (manager, instance) = (self.clone(), instance.clone());
                    self.shared
                        .tasks
                        .spawn(async move { manager.ensure_mcp_child(&instance).await })
                };
                let started = async {
                    starting.await.unwrap_or_else(|e| {
                        Err(InstanceError::StartFailed(format!(
                            "the start task failed: {e}"
                        )))
                    })
                };
                run_with_limits(started, &q, deadline, "starting a claude-code-mcp child").await?
            }
        };
        instance.set_state(InstanceState::Busy);
        instance
            .log
            .event("request", format!("{} asks {}", q.source, q.target));
        let dispatched = Instant::now();
        let call = child.call(&q.prompt, &q.workdir);
        let doing = format!("waiting for {}'s agent", q.target);
        let outcome = run_with_limits(call, &q, deadline, &doing).await;
        let duration_ms = dispatched.elapsed().as_millis() as u64;
        if let Err(InstanceError::ChildDied { .. }) = &outcome {
            // The supervisor restarts the child; this request is not replayed.
            instance.log.event("request", "failed: child died".into());
        }
        let shimmed = crate::policy::shim::uses_shim(&q.profile.env);
        let text = match outcome {
            // A failed `claude` run comes back with its stdout appended: under
            // the shim that is stream-json, which says more in fewer words.
            Err(InstanceError::ChildError(message)) if shimmed => {
                return Err(InstanceError::ChildError(shorten_stream_error(message, &q)));
            }
            other => other?,
        };
        let answer = Answer::text_only(text, instance.id.clone(), duration_ms);
        // Under a policy the child's `claude` runs through the shim, whose
        // answer is stream-json: the final text plus every tool use.
        let answer = if shimmed {
            from_stream_output(answer, &q)?
        } else {
            answer
        };
        for used in &answer.tool_uses {
            instance
                .log
                .event("tool", super::limits::tool_progress(used));
        }
        instance.log.event(
            "reply",
            format!(
                "in {duration_ms} ms: {}",
                truncate(&answer.text, JOURNAL_TEXT_CHARS)
            ),
        );
        report(&q, format!("answered in {duration_ms} ms"));
        Ok(answer)
    }

    /// Places a request of `lane` now, or queues it.
    fn acquire(&self, lane: &Lane) -> Result<Placement, InstanceError> {
        let mut state = self.state();
        let queue_empty = state.queues.get(lane).is_none_or(|q| q.is_empty());
        if queue_empty && let Some(instance) = self.try_place(&mut state, lane) {
            return Ok(Placement::Now(instance));
        }
        if let Some(error) = self.pool_exhausted(&state) {
            return Err(error);
        }
        let (tx, rx) = oneshot::channel();
        let queue = state.queues.entry(lane.clone()).or_default();
        queue.push_back(tx);
        let position = queue.len();
        if !state.turn_order.contains(lane) {
            state.turn_order.push_back(lane.clone());
        }
        Ok(Placement::Wait(rx, position))
    }

    /// Finds room for one request of `lane`, creating an instance if the
    /// pool may grow. Counts the request in flight on the chosen instance.
    fn try_place(&self, state: &mut PoolState, lane: &Lane) -> Option<Arc<Instance>> {
        let config = &self.shared.config.claude_code_mcp;
        if let Some(id) = state.affinity.get(lane)
            && let Some(instance) = state.instances.get(id)
            && instance.accepts_work()
        {
            // Strict affinity: a healthy instance keeps its lanes, even when full.
            return instance
                .take_room(config.max_in_flight)
                .then(|| instance.clone());
        }
        let mcp: Vec<&Arc<Instance>> = state
            .instances
            .values()
            .filter(|i| i.backend == BackendKind::ClaudeCodeMcp)
            .collect();
        let mut may_grow = mcp.len() < config.pool_max;
        // Any instance of this profile (even paused or crash-looping) is
        // this lane's to wait for; only when none exists does another
        // profile's idle child give way.
        let has_profile = mcp.iter().any(|i| i.profile == lane.profile);
        drop(mcp);
        if !may_grow && !has_profile && self.retire_idle_child(state, &lane.profile) {
            // A full pool of other profiles gives way to one of this profile.
            may_grow = true;
        }
        let mcp: Vec<&Arc<Instance>> = state
            .instances
            .values()
            .filter(|i| i.backend == BackendKind::ClaudeCodeMcp)
            .collect();
        let same_profile: Vec<Arc<Instance>> = mcp
            .iter()
            .filter(|i| i.profile == lane.profile && i.accepts_work())
            .map(|i| (*i).clone())
            .collect();
        // Spread lanes over children while the pool may grow.
        let all_taken = same_profile
            .iter()
            .all(|i| i.book().in_flight > 0 || lanes_of(state, &i.id) > 0);
        let chosen = if may_grow && all_taken {
            self.new_instance_locked(
                state,
                BackendKind::ClaudeCodeMcp,
                None,
                None,
                lane.profile.clone(),
                None,
            )
        } else {
            same_profile
                .into_iter()
                .min_by_key(|i| (i.book().in_flight, lanes_of(state, &i.id)))?
        };
        state.affinity.insert(lane.clone(), chosen.id.clone());
        chosen.take_room(config.max_in_flight).then_some(chosen)
    }

    /// Removes one idle claude-code-mcp instance of another profile that no
    /// lane waits for (its child is stopped in the background); false if
    /// there is none.
    fn retire_idle_child(&self, state: &mut PoolState, wanted: &ChildProfile) -> bool {
        let waited_for: Vec<&String> = state
            .queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .filter_map(|(lane, _)| state.affinity.get(lane))
            .collect();
        let Some(victim) = state
            .instances
            .values()
            .filter(|i| i.backend == BackendKind::ClaudeCodeMcp && &i.profile != wanted)
            .filter(|i| {
                let book = i.book();
                book.in_flight == 0 && !book.paused && book.state != InstanceState::CrashLoop
            })
            .filter(|i| !waited_for.contains(&&i.id))
            .min_by_key(|i| i.book().last_used)
            .cloned()
        else {
            return false;
        };
        state.instances.remove(&victim.id);
        state.affinity.retain(|_, id| *id != victim.id);
        victim.log.event(
            "state",
            "retired: the pool is full and another profile needs room".into(),
        );
        let manager = self.clone();
        self.spawn_task(async move { manager.stop_child(&victim).await });
        true
    }

    /// The error for requests when no claude-code-mcp instance can ever take
    /// them: the pool is full and every instance is in crash-loop.
    fn pool_exhausted(&self, state: &PoolState) -> Option<InstanceError> {
        let mcp: Vec<&Arc<Instance>> = state
            .instances
            .values()
            .filter(|i| i.backend == BackendKind::ClaudeCodeMcp)
            .collect();
        let usable = mcp
            .iter()
            .any(|i| i.book().state != InstanceState::CrashLoop);
        if usable || mcp.len() < self.shared.config.claude_code_mcp.pool_max {
            return None;
        }
        let errors: Vec<String> = mcp
            .iter()
            .filter_map(|i| {
                i.book()
                    .last_error
                    .clone()
                    .map(|e| format!("{}: {e}", i.id))
            })
            .collect();
        Some(InstanceError::Unavailable(format!(
            "every claude-code-mcp instance is in crash-loop ({}); fix the cause, then resume_instance",
            errors.join("; ")
        )))
    }

    /// Gives freed room to waiting requests, one lane at a time in turn.
    pub(super) fn pump(&self) {
        let mut state = self.state();
        // Waiters must not wait for instances that will never come back.
        if let Some(error) = self.pool_exhausted(&state) {
            for (_, queue) in state.queues.drain() {
                for waiter in queue {
                    let _ = waiter.send(Err(error.clone()));
                }
            }
            state.turn_order.clear();
            return;
        }
        let mut idle_rounds = 0;
        while idle_rounds < state.turn_order.len() {
            let Some(lane) = state.turn_order.pop_front() else {
                break;
            };
            // Drop waiters that gave up (cancelled or timed out while queued).
            if let Some(queue) = state.queues.get_mut(&lane) {
                while queue.front().is_some_and(|tx| tx.is_closed()) {
                    queue.pop_front();
                }
            }
            if state.queues.get(&lane).is_none_or(|q| q.is_empty()) {
                state.queues.remove(&lane);
                continue;
            }
            match self.try_place(&mut state, &lane) {
                Some(instance) => {
                    match state.queues.get_mut(&lane).and_then(|q| q.pop_front()) {
                        Some(tx) => {
                            if let Err(Ok(instance)) = tx.send(Ok(instance)) {
                                instance.give_back_room();
                            }
                        }
                        None => instance.give_back_room(),
                    }
                    idle_rounds = 0;
                }
                None => idle_rounds += 1,
            }
            if state.queues.get(&lane).is_some_and(|q| !q.is_empty()) {
                state.turn_order.push_back(lane);
            } else {
                state.queues.remove(&lane);
            }
        }
    }

    /// The instance's live child, starting one (with the instance's
    /// profile) if needed.
    pub(super) async fn ensure_mcp_child(
        &self,
        instance: &Arc<Instance>,
    ) -> Result<Arc<McpChild>, InstanceError> {
        if let Some(child) = instance.live_mcp_child().await {
            return Ok(child);
        }
        let _starting = instance.start_lock.lock().await;
        if let Some(child) = instance.live_mcp_child().await {
            return Ok(child);
        }
        if instance.book().state == InstanceState::CrashLoop {
            return Err(InstanceError::Unavailable(format!(
                "instance {} is in crash-loop (last error: {}); resume_instance restarts it",
                instance.id,
                instance.book().last_error.clone().unwrap_or_default()
            )));
        }
        instance.set_state(InstanceState::Starting);
        let started = tokio::select! {
            started = McpChild::start(
                &self.shared.config.claude_code_mcp,
                instance.profile.env.clone(),
                instance.log.clone(),
                &self.shared.tasks,
            ) => started,
            _ = self.shared.shutdown.cancelled() => Err(InstanceError::Unavailable("the server is shutting down".into())),
        };
        match started {
            Ok(child) => {
                let child = Arc::new(child);
                {
                    let mut book = instance.book();
                    book.pid = Some(child.pid());
                    book.stopping_on_purpose = false;
                }
                *instance.mcp.write().await = Some(child.clone());
                instance.set_state(InstanceState::Ready);
                self.watch_exit(instance, child.pid(), child.process.exit_watch());
                // Requests may have queued while no instance could take them.
                self.pump();
                Ok(child)
            }
            Err(e) => {
                self.tell_supervisor(SupervisorEvent::Failed {
                    instance: instance.clone(),
                    error: e.to_string(),
                });
                Err(e)
            }
        }
    }

    /// Tells the supervisor when this child of `instance` exits.
    pub(super) fn watch_exit(
        &self,
        instance: &Arc<Instance>,
        pid: u32,
        mut exit: tokio::sync::watch::Receiver<Option<super::process::ExitInfo>>,
    ) {
        let (weak, instance) = (self.downgrade(), instance.clone());
        self.spawn_task(async move {
            let _ = exit.wait_for(|e| e.is_some()).await;
            let how = exit
                .borrow()
                .clone()
                .map(|e| e.to_string())
                .unwrap_or_default();
            if let Some(manager) = weak.upgrade() {
                manager.tell_supervisor(SupervisorEvent::Exited { instance, pid, how });
            }
        });
    }
}

/// The instance a queued request is given, or why none will come.
async fn granted(rx: oneshot::Receiver<Grant>) -> Grant {
    rx.await.unwrap_or_else(|_| {
        Err(InstanceError::Unavailable(
            "the server is shutting down".into(),
        ))
    })
}

fn lanes_of(state: &PoolState, id: &str) -> usize {
    state.affinity.values().filter(|v| v.as_str() == id).count()
}

/// A request's room on an MCP instance; freed (and given to the next
/// waiter) when the request ends, however it ends.
struct Slot {
    manager: InstanceManager,
    instance: Arc<Instance>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.instance.finish_request();
        self.manager.pump();
    }
}

/// An answer whose text is the shimmed `claude`'s stream-json output.
fn from_stream_output(mut answer: Answer, q: &Query) -> Result<Answer, InstanceError> {
    let Some(run) = crate::policy::tool_use::parse_stream_output(&answer.text) else {
        return Err(InstanceError::ChildError(
            "the agent's output holds no result (expected stream-json from the policy shim)".into(),
        ));
    };
    for used in &run.tool_uses {
        report(q, super::limits::tool_progress(used));
    }
    if run.is_error {
        return Err(InstanceError::ChildError(run.text));
    }
    answer.text = run.text;
    answer.usage = run.usage;
    answer.cost_usd = run.cost_usd;
    answer.tool_uses = run.tool_uses;
    Ok(answer)
}

/// claude-code-mcp's error for a failed run ("... Stderr: ... Stdout: <stream-json>")
/// with the stream-json replaced by the run's result; its tool uses are reported.
fn shorten_stream_error(message: String, q: &Query) -> String {
    let Some(run) = crate::policy::tool_use::parse_stream_output(&message) else {
        return message;
    };
    for used in &run.tool_uses {
        report(q, super::limits::tool_progress(used));
    }
    let head = message.split("\nStdout: ").next().unwrap_or_default();
    format!("{head}\nResult: {}", run.text)
}
