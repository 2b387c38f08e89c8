//! The instance manager: owns every instance, places requests on them
//! (affinity per module pair, FIFO queue per pair, round-robin across
//! pairs), and runs each query to an answer or a clear error.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

use super::instance::{Instance, InstanceState, InstanceStatus};
use super::mcp_child::McpChild;
use super::process::InstanceEvent;
use super::stream_child::{StreamChild, launch_for};
use super::{Answer, InstanceError, Progress, Query};
use crate::config::{BackendKind, InstancesConfig};

/// How often a waiting caller hears how long it has been waiting.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

type Pair = (String, String);

/// What a queued request is given: an instance, or the reason none will come.
type Grant = Result<Arc<Instance>, InstanceError>;

#[derive(Default)]
pub(super) struct PoolState {
    pub instances: BTreeMap<String, Arc<Instance>>,
    /// MCP backend: the instance each module pair sticks to.
    pub affinity: HashMap<Pair, String>,
    /// MCP backend: requests waiting for room, FIFO per pair.
    pub queues: HashMap<Pair, VecDeque<oneshot::Sender<Grant>>>,
    /// Pairs with waiters, in the order they are next served.
    pub turn_order: VecDeque<Pair>,
    /// Stream backend: the instance of each conversation.
    pub by_conversation: HashMap<String, String>,
}

pub(super) struct Shared {
    pub config: InstancesConfig,
    pub state: Mutex<PoolState>,
    pub shutdown: CancellationToken,
    next_id: AtomicU64,
    prefix: String,
    /// Where instance event journals go (for `instances monitor`), if anywhere.
    pub event_dir: Option<std::path::PathBuf>,
}

/// Cheap to clone; every clone drives the same children.
#[derive(Clone)]
pub struct InstanceManager {
    pub(super) shared: Arc<Shared>,
}

impl InstanceManager {
    /// Creates the manager and starts its supervisor. Children start on
    /// first use unless `pool_min` > 0.
    pub fn new(config: InstancesConfig) -> InstanceManager {
        InstanceManager::with_event_dir(config, None)
    }

    /// Like [`InstanceManager::new`], and every instance journals its events
    /// (state changes, stderr, requests) to `<event_dir>/<id>.jsonl`.
    pub fn with_event_dir(
        config: InstancesConfig,
        event_dir: Option<std::path::PathBuf>,
    ) -> InstanceManager {
        super::process::become_subreaper();
        let prefix = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();
        let manager = InstanceManager {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(PoolState::default()),
                shutdown: CancellationToken::new(),
                next_id: AtomicU64::new(1),
                prefix,
                event_dir,
            }),
        };
        super::supervisor::spawn(manager.clone());
        for _ in 0..manager.shared.config.claude_code_mcp.pool_min {
            let instance = manager.new_instance(BackendKind::ClaudeCodeMcp, None, None);
            let m = manager.clone();
            tokio::spawn(async move {
                let _ = m.ensure_mcp_child(&instance, Vec::new()).await;
            });
        }
        manager
    }

    pub fn config(&self) -> &InstancesConfig {
        &self.shared.config
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_instance(
        &self,
        backend: BackendKind,
        module: Option<String>,
        conversation: Option<String>,
    ) -> Arc<Instance> {
        let n = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let kind = match backend {
            BackendKind::ClaudeCodeMcp => "mcp",
            BackendKind::ClaudeStream => "stream",
        };
        let id = format!("{kind}-{}-{n}", self.shared.prefix);
        let instance = Instance::new(
            id.clone(),
            backend,
            module,
            conversation.clone(),
            self.shared.event_dir.as_deref(),
        );
        let mut state = self.state();
        state.instances.insert(id.clone(), instance.clone());
        if let Some(c) = conversation {
            state.by_conversation.insert(c, id);
        }
        instance
    }

    /// Runs one query on the backend it names.
    pub async fn query(&self, query: Query) -> Result<Answer, InstanceError> {
        if self.shared.shutdown.is_cancelled() {
            return Err(InstanceError::Unavailable(
                "the server is shutting down".into(),
            ));
        }
        match query.backend {
            BackendKind::ClaudeCodeMcp => self.query_mcp(query).await,
            BackendKind::ClaudeStream => self.query_stream(query).await,
        }
    }

    // ----- claude-code-mcp -------------------------------------------------

    async fn query_mcp(&self, q: Query) -> Result<Answer, InstanceError> {
        let pair: Pair = (q.source.clone(), q.target.clone());
        let queued_at = Instant::now();
        let instance = match self.acquire(&pair)? {
            Placement::Now(instance) => instance,
            Placement::Wait(rx, position) => {
                report(&q, format!("queued for {} (position {position})", q.target));
                self.wait_for_grant(rx, &q, queued_at).await?
            }
        };
        let _slot = Slot {
            manager: self.clone(),
            instance: instance.clone(),
        };
        report(&q, format!("dispatched to instance {}", instance.id));
        let child = self
            .ensure_mcp_child(&instance, q.child_env.clone())
            .await?;
        instance.set_state(InstanceState::Busy);
        let dispatched = Instant::now();
        let call = child.call(&q.prompt, &q.workdir);
        let outcome = run_with_limits(call, &q, dispatched, &instance.id).await;
        let duration_ms = dispatched.elapsed().as_millis() as u64;
        if let Err(InstanceError::ChildDied { .. }) = &outcome {
            // The exit watcher restarts the child; this request is not replayed.
            instance.log.event("request", "failed: child died".into());
        }
        let text = outcome?;
        report(&q, format!("answered in {} ms", duration_ms));
        Ok(Answer {
            text,
            instance_id: instance.id.clone(),
            duration_ms,
            session_id: None,
            usage: None,
            cost_usd: None,
            session_continued: false,
        })
    }

    async fn wait_for_grant(
        &self,
        mut rx: oneshot::Receiver<Grant>,
        q: &Query,
        queued_at: Instant,
    ) -> Result<Arc<Instance>, InstanceError> {
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
        loop {
            tokio::select! {
                granted = &mut rx => {
                    return granted.unwrap_or_else(|_| Err(InstanceError::Unavailable("the server is shutting down".into())));
                }
                _ = q.cancel.cancelled() => return Err(InstanceError::Cancelled),
                _ = ticker.tick() => report(q, format!("waiting in queue for {}: {}s", q.target, queued_at.elapsed().as_secs())),
            }
        }
    }

    /// Places a request of `pair` now, or queues it.
    fn acquire(&self, pair: &Pair) -> Result<Placement, InstanceError> {
        let max_in_flight = self.shared.config.claude_code_mcp.max_in_flight;
        let mut state = self.state();
        let queue_empty = state.queues.get(pair).is_none_or(|q| q.is_empty());
        if queue_empty && let Some(instance) = self.try_place(&mut state, pair, max_in_flight) {
            return Ok(Placement::Now(instance));
        }
        if let Some(error) = self.pool_exhausted(&state) {
            return Err(error);
        }
        let (tx, rx) = oneshot::channel();
        let queue = state.queues.entry(pair.clone()).or_default();
        queue.push_back(tx);
        let position = queue.len();
        if !state.turn_order.contains(pair) {
            state.turn_order.push_back(pair.clone());
        }
        Ok(Placement::Wait(rx, position))
    }

    /// Finds room for one request of `pair`, creating an instance if the
    /// pool may grow. Counts the request in flight on the chosen instance.
    fn try_place(
        &self,
        state: &mut PoolState,
        pair: &Pair,
        max_in_flight: usize,
    ) -> Option<Arc<Instance>> {
        if let Some(id) = state.affinity.get(pair)
            && let Some(instance) = state.instances.get(id)
            && instance.accepts_work()
        {
            // Strict affinity: a healthy instance keeps its pairs, even when full.
            let mut book = instance.book();
            if book.in_flight < max_in_flight {
                book.in_flight += 1;
                book.last_used = Instant::now();
                return Some(instance.clone());
            }
            return None;
        }
        let mcp: Vec<Arc<Instance>> = state
            .instances
            .values()
            .filter(|i| i.backend == BackendKind::ClaudeCodeMcp)
            .cloned()
            .collect();
        let chosen = if mcp.len() < self.shared.config.claude_code_mcp.pool_max
            && mcp.iter().all(|i| {
                !i.accepts_work() || i.book().in_flight > 0 || self.pairs_of(state, &i.id) > 0
            }) {
            // Spread pairs over children while the pool may grow.
            drop(mcp);
            let n = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
            let id = format!("mcp-{}-{n}", self.shared.prefix);
            let instance = Instance::new(
                id.clone(),
                BackendKind::ClaudeCodeMcp,
                None,
                None,
                self.shared.event_dir.as_deref(),
            );
            state.instances.insert(id, instance.clone());
            instance
        } else {
            mcp.into_iter()
                .filter(|i| i.accepts_work())
                .min_by_key(|i| (i.book().in_flight, self.pairs_of(state, &i.id)))?
        };
        state.affinity.insert(pair.clone(), chosen.id.clone());
        let mut book = chosen.book();
        if book.in_flight < max_in_flight {
            book.in_flight += 1;
            book.last_used = Instant::now();
            drop(book);
            Some(chosen)
        } else {
            None
        }
    }

    fn pairs_of(&self, state: &PoolState, id: &str) -> usize {
        state.affinity.values().filter(|v| v.as_str() == id).count()
    }

    /// Gives freed room to waiting requests, one pair at a time in turn.
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

    pub(super) fn pump(&self) {
        let max_in_flight = self.shared.config.claude_code_mcp.max_in_flight;
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
            let Some(pair) = state.turn_order.pop_front() else {
                break;
            };
            // Drop waiters that gave up (cancelled while queued).
            if let Some(queue) = state.queues.get_mut(&pair) {
                while queue.front().is_some_and(|tx| tx.is_closed()) {
                    queue.pop_front();
                }
            }
            if state.queues.get(&pair).is_none_or(|q| q.is_empty()) {
                state.queues.remove(&pair);
                continue;
            }
            match self.try_place(&mut state, &pair, max_in_flight) {
                Some(instance) => {
                    let tx = state
                        .queues
                        .get_mut(&pair)
                        .and_then(|q| q.pop_front())
                        .expect("queue has a waiter");
                    if let Err(Ok(instance)) = tx.send(Ok(instance)) {
                        instance.book().in_flight -= 1;
                    }
                    idle_rounds = 0;
                }
                None => idle_rounds += 1,
            }
            if state.queues.get(&pair).is_some_and(|q| !q.is_empty()) {
                state.turn_order.push_back(pair);
            } else {
                state.queues.remove(&pair);
            }
        }
    }

    /// The instance's live child, starting one if needed.
    pub(super) async fn ensure_mcp_child(
        &self,
        instance: &Arc<Instance>,
        env: Vec<(String, String)>,
    ) -> Result<Arc<McpChild>, InstanceError> {
        if let Some(child) = instance.mcp.read().await.clone()
            && child.is_alive()
        {
            return Ok(child);
        }
        let _starting = instance.start_lock.lock().await;
        if let Some(child) = instance.mcp.read().await.clone()
            && child.is_alive()
        {
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
        match McpChild::start(
            &self.shared.config.claude_code_mcp,
            env,
            instance.log.clone(),
        )
        .await
        {
            Ok(child) => {
                let child = Arc::new(child);
                {
                    let mut book = instance.book();
                    book.pid = Some(child.pid());
                    book.stopping_on_purpose = false;
                }
                *instance.mcp.write().await = Some(child.clone());
                instance.set_state(InstanceState::Ready);
                super::supervisor::watch_mcp_exit(self.clone(), instance.clone(), child.clone());
                // Requests may have queued while no instance could take them.
                self.pump();
                Ok(child)
            }
            Err(e) => {
                super::supervisor::on_failure(self, instance, &e.to_string());
                Err(e)
            }
        }
    }

    // ----- claude-stream ---------------------------------------------------

    async fn query_stream(&self, q: Query) -> Result<Answer, InstanceError> {
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
        let mut guard = tokio::select! {
            guard = instance.stream.lock() => guard,
            _ = q.cancel.cancelled() => return Err(InstanceError::Cancelled),
        };
        instance.book().last_used = Instant::now();
        let alive = guard
            .as_ref()
            .is_some_and(|c| c.process.has_exited().is_none());
        let mut continued = alive;
        if !alive {
            if let Some(old) = guard.take() {
                old.stop().await;
            }
            let resume = instance
                .book()
                .session_id
                .clone()
                .or(q.resume_session.clone());
            self.evict_for_room(&instance.id).await;
            let module = instance.module.clone().unwrap_or_default();
            let launch = launch_for(
                &self.shared.config.claude_stream,
                &module,
                &q.workdir,
                resume.as_deref(),
                q.child_env.clone(),
            );
            instance.set_state(InstanceState::Starting);
            match StreamChild::start(&launch, instance.log.clone(), resume.as_deref()) {
                Ok(child) => {
                    instance.book().pid = Some(child.process.pid);
                    *guard = Some(child);
                    continued = resume.is_some();
                }
                Err(e) => {
                    super::supervisor::on_failure(self, &instance, &e.to_string());
                    return Err(e);
                }
            }
        }
        instance.set_state(InstanceState::Busy);
        report(&q, format!("dispatched to instance {}", instance.id));
        let dispatched = Instant::now();
        let child = guard.as_mut().expect("a stream child is running");
        let first_turn_of_resume = child.turns == 0 && child.session_id.is_some();
        let progress = q.progress.clone();
        let turn = child.turn(&q.prompt, move |text| {
            if let Some(p) = &progress {
                p(Progress {
                    message: format!("assistant: {}", truncate(text, 200)),
                });
            }
        });
        let outcome = run_with_limits(turn, &q, dispatched, &instance.id).await;
        let duration_ms = dispatched.elapsed().as_millis() as u64;
        match outcome {
            Ok(result) => {
                {
                    let mut book = instance.book();
                    book.session_id = result.session_id.clone();
                    book.served += 1;
                }
                instance.set_state(InstanceState::Ready);
                report(&q, format!("answered in {duration_ms} ms"));
                Ok(Answer {
                    text: result.text,
                    instance_id: instance.id.clone(),
                    duration_ms,
                    session_id: result.session_id,
                    usage: result.usage,
                    cost_usd: result.cost_usd,
                    session_continued: continued,
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
                    super::supervisor::on_failure(self, &instance, &e.to_string());
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
        {
            let state = self.state();
            if let Some(instance) = state
                .by_conversation
                .get(&q.conversation_id)
                .and_then(|id| state.instances.get(id))
            {
                return instance.clone();
            }
        }
        self.new_instance(
            BackendKind::ClaudeStream,
            Some(q.target.clone()),
            Some(q.conversation_id.clone()),
        )
    }

    /// Keeps at most `max_warm` stream processes: stops the least recently
    /// used idle one. Its conversation resumes with `--resume` next time.
    async fn evict_for_room(&self, for_id: &str) {
        let max_warm = self.shared.config.claude_stream.max_warm.max(1);
        let victim = {
            let state = self.state();
            let warm: Vec<&Arc<Instance>> = state
                .instances
                .values()
                .filter(|i| {
                    i.backend == BackendKind::ClaudeStream
                        && i.id != for_id
                        && i.book().pid.is_some()
                })
                .collect();
            if warm.len() < max_warm {
                return;
            }
            warm.into_iter()
                .filter(|i| i.book().in_flight == 0)
                .min_by_key(|i| i.book().last_used)
                .cloned()
        };
        if let Some(victim) = victim {
            tracing::info!(instance = %victim.id, "evicting the least recently used stream instance");
            self.stop_stream_process(&victim).await;
        }
    }

    pub(super) async fn stop_stream_process(&self, instance: &Arc<Instance>) {
        instance.book().stopping_on_purpose = true;
        let child = instance.stream.lock().await.take();
        if let Some(child) = child {
            child.stop().await;
        }
        instance.book().pid = None;
        instance.set_state(InstanceState::Stopped);
    }

    // ----- operations ------------------------------------------------------

    pub fn list(&self) -> Vec<InstanceStatus> {
        let state = self.state();
        state
            .instances
            .values()
            .map(|i| self.status_of(&state, i))
            .collect()
    }

    fn status_of(&self, state: &PoolState, instance: &Arc<Instance>) -> InstanceStatus {
        let pairs: Vec<Pair> = state
            .affinity
            .iter()
            .filter(|(_, id)| **id == instance.id)
            .map(|(p, _)| p.clone())
            .collect();
        let queued = pairs
            .iter()
            .map(|p| state.queues.get(p).map_or(0, |q| q.len()))
            .sum();
        let mut names: Vec<String> = pairs.iter().map(|(s, t)| format!("{s}->{t}")).collect();
        names.sort();
        instance.status(queued, names)
    }

    pub fn status(&self, id: &str) -> Result<InstanceStatus, InstanceError> {
        let state = self.state();
        let instance = state
            .instances
            .get(id)
            .ok_or_else(|| InstanceError::UnknownInstance(id.to_string()))?;
        Ok(self.status_of(&state, instance))
    }

    fn get(&self, id: &str) -> Result<Arc<Instance>, InstanceError> {
        self.state()
            .instances
            .get(id)
            .cloned()
            .ok_or_else(|| InstanceError::UnknownInstance(id.to_string()))
    }

    /// Starts a claude-code-mcp instance now (stream instances start with
    /// their conversation's first message).
    pub async fn start(&self, backend: BackendKind) -> Result<InstanceStatus, InstanceError> {
        if backend == BackendKind::ClaudeStream {
            return Err(InstanceError::Unavailable(
                "claude-stream instances belong to a conversation and start with its first message"
                    .into(),
            ));
        }
        let count = self
            .state()
            .instances
            .values()
            .filter(|i| i.backend == BackendKind::ClaudeCodeMcp)
            .count();
        if count >= self.shared.config.claude_code_mcp.pool_max {
            return Err(InstanceError::Unavailable(format!(
                "the claude-code-mcp pool is full ({count} of pool_max {})",
                self.shared.config.claude_code_mcp.pool_max
            )));
        }
        let instance = self.new_instance(BackendKind::ClaudeCodeMcp, None, None);
        self.ensure_mcp_child(&instance, Vec::new()).await?;
        self.status(&instance.id)
    }

    /// Stops an instance's child and removes the instance; requests in
    /// flight on it fail with a clear error.
    pub async fn stop(&self, id: &str) -> Result<InstanceStatus, InstanceError> {
        let instance = self.get(id)?;
        instance.set_state(InstanceState::Stopping);
        instance.book().stopping_on_purpose = true;
        match instance.backend {
            BackendKind::ClaudeCodeMcp => {
                let child = instance.mcp.write().await.take();
                if let Some(child) = child {
                    stop_shared_child(child).await;
                }
            }
            BackendKind::ClaudeStream => self.stop_stream_process(&instance).await,
        }
        instance.book().pid = None;
        instance.set_state(InstanceState::Stopped);
        let status = self.status(id)?;
        {
            let mut state = self.state();
            state.instances.remove(id);
            state.affinity.retain(|_, v| v != id);
            state.by_conversation.retain(|_, v| v != id);
        }
        // Pairs that stuck to it go elsewhere now.
        self.pump();
        Ok(status)
    }

    pub fn pause(&self, id: &str) -> Result<InstanceStatus, InstanceError> {
        let instance = self.get(id)?;
        instance.book().paused = true;
        instance.log.event("state", "paused".into());
        self.status(id)
    }

    /// Resumes a paused instance; also lets a crash-looped one start again.
    pub fn resume(&self, id: &str) -> Result<InstanceStatus, InstanceError> {
        let instance = self.get(id)?;
        {
            let mut book = instance.book();
            book.paused = false;
            book.failures.clear();
            if book.state == InstanceState::CrashLoop {
                book.state = InstanceState::Stopped;
            }
        }
        instance.log.event("state", "resumed".into());
        self.pump();
        self.status(id)
    }

    pub fn subscribe(&self, id: &str) -> Result<broadcast::Receiver<InstanceEvent>, InstanceError> {
        Ok(self.get(id)?.log.subscribe())
    }

    /// Stops every child (and its process tree). Queued requests fail.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        let instances: Vec<Arc<Instance>> = {
            let mut state = self.state();
            state.queues.clear();
            state.turn_order.clear();
            state.instances.values().cloned().collect()
        };
        for instance in instances {
            instance.book().stopping_on_purpose = true;
            if let Some(child) = instance.mcp.write().await.take() {
                stop_shared_child(child).await;
            }
            if let Ok(mut stream) = instance.stream.try_lock()
                && let Some(child) = stream.take()
            {
                child.stop().await;
            } else if let Some(pid) = instance.book().pid {
                // A turn holds the process: end its group directly.
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            instance.set_state(InstanceState::Stopped);
        }
    }
}

/// Stops an MCP child that calls may still hold: their futures see the
/// transport close and fail with a clear error.
pub(super) async fn stop_shared_child(child: Arc<McpChild>) {
    match Arc::try_unwrap(child) {
        Ok(child) => child.stop().await,
        Err(shared) => {
            shared.process.stop().await;
        }
    }
}

enum Placement {
    Now(Arc<Instance>),
    Wait(oneshot::Receiver<Grant>, usize),
}

/// A request's room on an MCP instance; freed (and given to the next
/// waiter) when the request ends, however it ends.
struct Slot {
    manager: InstanceManager,
    instance: Arc<Instance>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut book = self.instance.book();
            book.in_flight = book.in_flight.saturating_sub(1);
            book.served += 1;
            book.last_used = Instant::now();
            if book.in_flight == 0 && book.state == InstanceState::Busy {
                book.state = InstanceState::Ready;
            }
        }
        self.manager.pump();
    }
}

struct StreamSlot(Arc<Instance>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut book = self.0.book();
        book.in_flight = book.in_flight.saturating_sub(1);
        book.last_used = Instant::now();
    }
}

fn report(q: &Query, message: String) {
    if let Some(p) = &q.progress {
        p(Progress { message });
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Awaits `work` under the query's timeout and cancellation, telling the
/// caller every few seconds how long it has been waiting. Dropping `work`
/// is what cancels it at the child.
async fn run_with_limits<T>(
    work: impl std::future::Future<Output = Result<T, InstanceError>>,
    q: &Query,
    dispatched: Instant,
    instance_id: &str,
) -> Result<T, InstanceError> {
    let deadline = tokio::time::Instant::from_std(dispatched) + q.timeout;
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    tokio::pin!(work);
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = tokio::time::sleep_until(deadline) => {
                tracing::warn!(instance = %instance_id, timeout_s = q.timeout.as_secs(), "request timed out");
                return Err(InstanceError::Timeout { seconds: q.timeout.as_secs() });
            }
            _ = q.cancel.cancelled() => return Err(InstanceError::Cancelled),
            _ = ticker.tick() => report(q, format!("waiting for {}'s agent: {}s", q.target, dispatched.elapsed().as_secs())),
        }
    }
}
