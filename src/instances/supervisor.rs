//! Supervision: restart dead children with exponential backoff, put an
//! instance that keeps failing into crash-loop, health-check live children,
//! and reclaim idle ones.
//!
//! The supervisor is one task. It hears about child exits and start
//! failures over a channel ([`SupervisorEvent`]) and acts on the pool only
//! through the [`Supervised`] trait, holding it weakly: it never reaches
//! into the pool's state, and never keeps the pool alive.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::instance::{Instance, InstanceState};
use crate::config::{BackendKind, InstancesConfig};

/// First restart delay; doubles with each failure in the window, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// stderr lines quoted when a child exits unexpectedly.
const EXIT_TAIL_LINES: usize = 3;

/// What the pool tells the supervisor.
pub(super) enum SupervisorEvent {
    /// A child of `instance` exited (on purpose or not).
    Exited {
        instance: Arc<Instance>,
        pid: u32,
        how: String,
    },
    /// A child of `instance` could not be started, or died during a turn.
    Failed {
        instance: Arc<Instance>,
        error: String,
    },
}

/// What the supervisor may do to the pool.
pub(super) trait Supervised: Send + Sync + 'static {
    fn config(&self) -> &InstancesConfig;
    fn instances(&self) -> Vec<Arc<Instance>>;
    fn contains(&self, instance_id: &str) -> bool;
    fn is_shutting_down(&self) -> bool;
    /// Hands freed room (or a crash-loop error) to queued requests.
    fn pump(&self);
    /// Stops an instance's child on purpose (idle reclaim).
    fn stop_child(&self, instance: &Arc<Instance>) -> impl Future<Output = ()> + Send;
    /// Starts a task that starts the instance's child again.
    fn restart(&self, instance: Arc<Instance>) -> JoinHandle<()>;
    /// Starts a task the pool's shutdown waits for.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()>;
}

/// A weak handle on the pool.
pub(super) trait WeakPool: Clone + Send + Sync + 'static {
    type Pool: Supervised + Clone;
    fn upgrade(&self) -> Option<Self::Pool>;
}

/// The supervisor task: runs until the pool shuts down or is dropped.
pub(super) async fn run<W: WeakPool>(
    weak: W,
    mut events: mpsc::UnboundedReceiver<SupervisorEvent>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let Some(interval) = weak
        .upgrade()
        .map(|p| Duration::from_secs(p.config().health_interval_s.max(1)))
    else {
        return;
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    let mut pending_restarts: Vec<(Instant, Arc<Instance>)> = Vec::new();
    let mut round: Option<JoinHandle<()>> = None;
    loop {
        let next_restart = pending_restarts.iter().map(|(at, _)| *at).min();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            event = events.recv() => {
                let Some(event) = event else { return };
                let Some(pool) = weak.upgrade() else { return };
                if let Some(restart) = handle(&pool, event) {
                    pending_restarts.push(restart);
                }
            }
            _ = ticker.tick() => {
                let Some(pool) = weak.upgrade() else { return };
                if pool.is_shutting_down() {
                    return;
                }
                // One round at a time; a slow ping must not delay exit events.
                if round.as_ref().is_none_or(|r| r.is_finished()) {
                    let p = pool.clone();
                    round = Some(pool.spawn(async move {
                        health_round(&p).await;
                        reclaim_idle(&p).await;
                    }));
                }
            }
            _ = sleep_until_opt(next_restart) => {
                let Some(pool) = weak.upgrade() else { return };
                let now = Instant::now();
                let (due, later): (Vec<_>, Vec<_>) =
                    pending_restarts.drain(..).partition(|(at, _)| *at <= now);
                pending_restarts = later;
                for (_, instance) in due {
                    restart(&pool, instance);
                }
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Acts on one event; returns a restart to schedule, if any.
fn handle<P: Supervised>(pool: &P, event: SupervisorEvent) -> Option<(Instant, Arc<Instance>)> {
    match event {
        SupervisorEvent::Exited { instance, pid, how } => {
            let on_purpose = {
                let mut book = instance.book();
                if book.pid == Some(pid) {
                    book.pid = None;
                }
                book.stopping_on_purpose
            };
            if on_purpose || pool.is_shutting_down() {
                return None;
            }
            let tail = instance.log.tail(EXIT_TAIL_LINES).join(" | ");
            let error = format!("child pid {pid} exited unexpectedly ({how}); last stderr: {tail}");
            tracing::warn!(instance = %instance.id, "{error}");
            on_failure(pool, &instance, &error)
        }
        SupervisorEvent::Failed { instance, error } => on_failure(pool, &instance, &error),
    }
}

/// Counts a failure; schedules a restart after a backoff, or declares a
/// crash loop.
fn on_failure<P: Supervised>(
    pool: &P,
    instance: &Arc<Instance>,
    error: &str,
) -> Option<(Instant, Arc<Instance>)> {
    let config = pool.config();
    let crash_loop = instance.record_failure(
        error,
        config.max_restarts,
        Duration::from_secs(config.crash_window_s),
    );
    if crash_loop {
        tracing::error!(instance = %instance.id, error, "instance is in crash-loop; it will not be restarted until resumed");
        instance.set_state(InstanceState::CrashLoop);
        // Waiting requests must not wait forever for it.
        pool.pump();
        return None;
    }
    instance.set_state(InstanceState::Failed);
    if instance.backend != BackendKind::ClaudeCodeMcp {
        return None; // A stream instance restarts with its conversation's next turn.
    }
    let failures = instance.book().failures.len() as u32;
    let backoff = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)))
        .min(MAX_BACKOFF);
    instance
        .log
        .event("state", format!("restarting in {} ms", backoff.as_millis()));
    Some((Instant::now() + backoff, instance.clone()))
}

fn restart<P: Supervised>(pool: &P, instance: Arc<Instance>) {
    if !pool.contains(&instance.id) || pool.is_shutting_down() {
        return; // Stopped meanwhile.
    }
    if instance.book().state == InstanceState::CrashLoop {
        return;
    }
    instance.book().restarts += 1;
    pool.restart(instance);
}

/// Pings every live MCP child; one that does not answer is killed (its
/// exit then counts as a failure and it is restarted).
async fn health_round<P: Supervised>(pool: &P) {
    for instance in pool.instances() {
        if instance.backend != BackendKind::ClaudeCodeMcp {
            continue;
        }
        let Some(child) = instance.mcp.read().await.clone() else {
            continue;
        };
        if let Err(why) = child.ping().await {
            tracing::warn!(instance = %instance.id, %why, "child failed its health check; restarting it");
            instance.log.event("health", why.clone());
            instance.book().last_error = Some(why);
            child.process.stop().await;
        }
    }
}

/// Stops children idle for longer than `idle_timeout_s`, keeping `pool_min`.
async fn reclaim_idle<P: Supervised>(pool: &P) {
    let idle_for = Duration::from_secs(pool.config().idle_timeout_s);
    let pool_min = pool.config().claude_code_mcp.pool_min;
    let instances = pool.instances();
    let mut mcp_live = instances
        .iter()
        .filter(|i| i.backend == BackendKind::ClaudeCodeMcp && i.book().pid.is_some())
        .count();
    let candidates: Vec<Arc<Instance>> = instances
        .into_iter()
        .filter(|i| {
            let book = i.book();
            let idle =
                book.in_flight == 0 && book.pid.is_some() && book.last_used.elapsed() >= idle_for;
            if !idle {
                return false;
            }
            if i.backend == BackendKind::ClaudeCodeMcp {
                if mcp_live <= pool_min {
                    return false;
                }
                mcp_live -= 1;
            }
            true
        })
        .collect();
    for instance in candidates {
        tracing::info!(instance = %instance.id, "stopping an idle instance");
        instance.log.event("state", "idle: stopping".into());
        pool.stop_child(&instance).await;
    }
}
