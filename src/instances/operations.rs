//! What an operator (through the hub) can do with instances: list them,
//! read one's status, start, stop, pause and resume one, follow its events.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::instance::{Instance, InstanceState, InstanceStatus};
use super::manager::{InstanceManager, Lane, PoolState};
use super::process::InstanceEvent;
use super::standby::StandbyKey;
use super::{ChildProfile, InstanceError};
use crate::config::BackendKind;

impl InstanceManager {
    pub fn list(&self) -> Vec<InstanceStatus> {
        let instances: Vec<Arc<Instance>> = self.state().instances.values().cloned().collect();
        let rss = super::memory::rss_of_groups(&pids_of(&instances));
        let state = self.state();
        instances
            .iter()
            .map(|i| status_of(&state, i, &rss))
            .collect()
    }

    /// An instance by its id, its name, or an unambiguous id prefix of 8+
    /// characters.
    pub fn status(&self, id: &str) -> Result<InstanceStatus, InstanceError> {
        let instance = self.get(id)?;
        let rss = super::memory::rss_of_groups(&pids_of(std::slice::from_ref(&instance)));
        let state = self.state();
        Ok(status_of(&state, &instance, &rss))
    }

    fn get(&self, id: &str) -> Result<Arc<Instance>, InstanceError> {
        find(&self.state(), id)
    }

    /// Starts an instance now, for queries of `profile`. A claude-code-mcp
    /// instance joins the pool; a claude-stream instance is a warm `claude`
    /// process in `stream_home`'s folder, held for the pair whose profile
    /// it carries until that pair's next new conversation takes it.
    pub async fn start(
        &self,
        backend: BackendKind,
        profile: ChildProfile,
        name: Option<String>,
        stream_home: Option<StreamHome>,
    ) -> Result<InstanceStatus, InstanceError> {
        if let Some(name) = &name
            && self
                .state()
                .instances
                .values()
                .any(|i| i.name.as_ref() == Some(name))
        {
            return Err(InstanceError::Unavailable(format!(
                "an instance named \"{name}\" runs already; stop it first or choose another name"
            )));
        }
        if backend == BackendKind::ClaudeStream {
            let Some(home) = stream_home else {
                return Err(InstanceError::Unavailable(
                    "a claude-stream instance is held for one module pair: give the pair (--pair SOURCE:TARGET, or a name SOURCE_TARGET of two known modules)"
                        .into(),
                ));
            };
            let key = StandbyKey {
                module: home.module,
                workdir: home.workdir,
                profile,
            };
            let instance = self.start_named_standby(key, name).await?;
            return self.status(&instance.id);
        }
        let pool_max = self.shared.config.claude_code_mcp.pool_max;
        let instance = {
            let mut state = self.state();
            let count = state
                .instances
                .values()
                .filter(|i| i.backend == BackendKind::ClaudeCodeMcp)
                .count();
            if count >= pool_max {
                return Err(InstanceError::Unavailable(format!(
                    "the claude-code-mcp pool is full ({count} of pool_max {pool_max})"
                )));
            }
            self.new_instance_locked(
                &mut state,
                BackendKind::ClaudeCodeMcp,
                None,
                None,
                profile,
                name,
            )
        };
        self.ensure_mcp_child(&instance).await?;
        self.status(&instance.id)
    }

    /// Stops an instance's child and removes the instance; requests in
    /// flight on it fail with a clear error.
    pub async fn stop(&self, id: &str) -> Result<InstanceStatus, InstanceError> {
        let instance = self.get(id)?;
        let id = instance.id.clone();
        instance.set_state(InstanceState::Stopping);
        self.stop_child(&instance).await;
        let status = self.status(&id)?;
        {
            let mut state = self.state();
            state.instances.remove(&id);
            state.affinity.retain(|_, v| *v != id);
            state.by_conversation.retain(|_, v| *v != id);
            state.standby.retain(|_, v| *v != id);
        }
        // Lanes that stuck to it go elsewhere now.
        self.pump();
        Ok(status)
    }

    pub fn pause(&self, id: &str) -> Result<InstanceStatus, InstanceError> {
        let instance = self.get(id)?;
        instance.book().paused = true;
        instance.log.event("state", "paused".into());
        self.status(&instance.id)
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
        self.status(&instance.id)
    }

    /// Replaces an instance's child with a fresh process: same id, same
    /// profile. Requests in flight on the old child fail; a claude-code-mcp
    /// instance starts its new child now, a claude-stream instance with its
    /// conversation's next turn (which resumes the Claude session).
    pub async fn restart(&self, id: &str) -> Result<InstanceStatus, InstanceError> {
        let instance = self.get(id)?;
        instance
            .log
            .event("state", "restarting (asked by an operator)".into());
        self.stop_child(&instance).await;
        instance.book().restarts += 1;
        if instance.backend == BackendKind::ClaudeCodeMcp {
            self.ensure_mcp_child(&instance).await?;
        }
        self.status(id)
    }

    /// The live events of an instance (state, stderr, requests).
    pub fn subscribe(&self, id: &str) -> Result<broadcast::Receiver<InstanceEvent>, InstanceError> {
        Ok(self.get(id)?.log.subscribe())
    }
}

/// An instance by id, name, or unambiguous id prefix of 8+ characters.
fn find(state: &PoolState, key: &str) -> Result<Arc<Instance>, InstanceError> {
    if let Some(instance) = state.instances.get(key) {
        return Ok(instance.clone());
    }
    if let Some(instance) = state
        .instances
        .values()
        .find(|i| i.name.as_deref() == Some(key))
    {
        return Ok(instance.clone());
    }
    let by_prefix: Vec<&Arc<Instance>> = if key.len() >= 8 {
        state
            .instances
            .values()
            .filter(|i| i.id.starts_with(key))
            .collect()
    } else {
        Vec::new()
    };
    match by_prefix.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(InstanceError::UnknownInstance(key.to_string())),
    }
}

fn pids_of(instances: &[Arc<Instance>]) -> Vec<u32> {
    instances.iter().filter_map(|i| i.book().pid).collect()
}

fn status_of(
    state: &PoolState,
    instance: &Arc<Instance>,
    rss: &std::collections::HashMap<u32, u64>,
) -> InstanceStatus {
    let lanes: Vec<&Lane> = state
        .affinity
        .iter()
        .filter(|(_, id)| **id == instance.id)
        .map(|(lane, _)| lane)
        .collect();
    let queued = lanes
        .iter()
        .map(|lane| state.queues.get(*lane).map_or(0, |q| q.len()))
        .sum();
    let mut names: Vec<String> = lanes
        .iter()
        .map(|lane| format!("{}->{}", lane.source, lane.target))
        .collect();
    names.sort();
    names.dedup();
    let rss_kib = instance.book().pid.and_then(|pid| rss.get(&pid).copied());
    instance.status(queued, names, rss_kib)
}

/// Where a claude-stream instance started ahead of its conversation runs:
/// the answering module and its folder.
#[derive(Debug, Clone)]
pub struct StreamHome {
    pub module: String,
    pub workdir: std::path::PathBuf,
}
