//! Supervision: restart dead children with exponential backoff, put an
//! instance that keeps failing into crash-loop, health-check live children,
//! and reclaim idle ones.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::instance::{Instance, InstanceState};
use super::mcp_child::McpChild;
use super::pool::{InstanceManager, stop_shared_child};
use crate::config::BackendKind;

/// First restart delay; doubles with each failure in the window, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(super) fn spawn(manager: InstanceManager) {
    let interval = Duration::from_secs(manager.config().health_interval_s.max(1));
    let shutdown = manager.shared.shutdown.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            health_round(&manager).await;
            reclaim_idle(&manager).await;
        }
    });
}

/// Pings every live MCP child; one that does not answer is killed (its
/// exit watcher then restarts it).
async fn health_round(manager: &InstanceManager) {
    let instances: Vec<Arc<Instance>> = manager.state().instances.values().cloned().collect();
    for instance in instances {
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
            // Killing it makes the exit watcher count a failure and restart.
            child.process.stop().await;
        }
    }
}

/// Stops children idle for longer than `idle_timeout_s`, keeping `pool_min`.
async fn reclaim_idle(manager: &InstanceManager) {
    let idle_for = Duration::from_secs(manager.config().idle_timeout_s);
    let pool_min = manager.config().claude_code_mcp.pool_min;
    let candidates: Vec<Arc<Instance>> = {
        let state = manager.state();
        let mut mcp_live = state
            .instances
            .values()
            .filter(|i| i.backend == BackendKind::ClaudeCodeMcp && i.book().pid.is_some())
            .count();
        state
            .instances
            .values()
            .filter(|i| {
                let book = i.book();
                let idle = book.in_flight == 0
                    && book.pid.is_some()
                    && book.last_used.elapsed() >= idle_for;
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
            .cloned()
            .collect()
    };
    for instance in candidates {
        tracing::info!(instance = %instance.id, "stopping an idle instance");
        instance.log.event("state", "idle: stopping".into());
        instance.book().stopping_on_purpose = true;
        match instance.backend {
            BackendKind::ClaudeCodeMcp => {
                if let Some(child) = instance.mcp.write().await.take() {
                    stop_shared_child(child).await;
                }
                instance.book().pid = None;
                instance.set_state(InstanceState::Stopped);
            }
            BackendKind::ClaudeStream => manager.stop_stream_process(&instance).await,
        }
    }
}

/// Watches one MCP child; when it exits without being asked to, counts a
/// failure and restarts it after a backoff (or declares a crash loop).
pub(super) fn watch_mcp_exit(
    manager: InstanceManager,
    instance: Arc<Instance>,
    child: Arc<McpChild>,
) {
    let mut exit = child.process.exit_watch();
    let pid = child.pid();
    drop(child);
    tokio::spawn(async move {
        let _ = exit.wait_for(|e| e.is_some()).await;
        let how = exit
            .borrow()
            .clone()
            .map(|e| e.to_string())
            .unwrap_or_default();
        {
            // Forget the dead child (unless a newer one already replaced it).
            let mut slot = instance.mcp.write().await;
            if slot.as_ref().is_some_and(|c| c.pid() == pid) {
                *slot = None;
            }
        }
        let on_purpose = {
            let mut book = instance.book();
            if book.pid == Some(pid) {
                book.pid = None;
            }
            book.stopping_on_purpose
        };
        if on_purpose || manager.shared.shutdown.is_cancelled() {
            return;
        }
        let tail = instance.log.tail(3).join(" | ");
        let error = format!("child pid {pid} exited unexpectedly ({how}); last stderr: {tail}");
        tracing::warn!(instance = %instance.id, "{error}");
        on_failure(&manager, &instance, &error);
    });
}

/// Counts a failure; restarts after a backoff, or declares a crash loop.
pub(super) fn on_failure(manager: &InstanceManager, instance: &Arc<Instance>, error: &str) {
    let config = manager.config();
    let crash_loop = instance.record_failure(
        error,
        config.max_restarts,
        Duration::from_secs(config.crash_window_s),
    );
    if crash_loop {
        tracing::error!(instance = %instance.id, error, "instance is in crash-loop; it will not be restarted until resumed");
        instance.set_state(InstanceState::CrashLoop);
        // Waiting requests must not wait forever for it.
        manager.pump();
        return;
    }
    instance.set_state(InstanceState::Failed);
    if instance.backend != BackendKind::ClaudeCodeMcp {
        return; // A stream instance restarts with its conversation's next turn.
    }
    let failures = instance.book().failures.len() as u32;
    let backoff = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)))
        .min(MAX_BACKOFF);
    let manager = manager.clone();
    let instance = instance.clone();
    tokio::spawn(async move {
        let restart_at = Instant::now() + backoff;
        tokio::select! {
            _ = manager.shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(restart_at.into()) => {}
        }
        if !manager.state().instances.contains_key(&instance.id) {
            return; // Stopped meanwhile.
        }
        instance.book().restarts += 1;
        instance.log.event(
            "state",
            format!("restarting after {} ms", backoff.as_millis()),
        );
        let _ = manager.ensure_mcp_child(&instance, Vec::new()).await;
    });
}
