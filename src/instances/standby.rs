//! Standby stream processes: a `claude` stream process started without a
//! message in the folder of a recently used module, so the first turn of
//! the next new conversation there skips the CLI's start-up (about 0.5 s
//! against about 15 ms for a later turn). When a new conversation takes
//! it, another is started behind it.
//!
//! A standby is keyed by module, folder and [`ChildProfile`]: a
//! conversation takes only a standby started with the very profile its
//! query carries (hop context, permission policy), the same invariant the
//! rest of the pool keeps. Standbys live within the warm caps (count and
//! memory) and never push out a warm conversation to make room; they are
//! the first to go when a conversation needs room, and they end once their
//! module has not been used for `standby_window_s`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::instance::{Instance, InstanceState};
use super::manager::{InstanceManager, PoolState};
pub(super) use super::standby_key::StandbyKey;
use super::stream_child::{StreamChild, launch_for};
use super::{InstanceError, Query};
use crate::config::BackendKind;

impl InstanceManager {
    fn standby_enabled(&self) -> bool {
        self.shared.config.claude_stream.standby
    }

    /// The standby for `q`'s new conversation, now bound to it; `None` when
    /// there is none of the query's key, or the conversation has a session
    /// to resume (a standby holds no session).
    pub(super) fn adopt_standby_locked(
        &self,
        state: &mut PoolState,
        q: &Query,
    ) -> Option<Arc<Instance>> {
        if q.resume_session.is_some() {
            return None;
        }
        let key = StandbyKey::of(q);
        let id = state.standby.get(&key)?.clone();
        let instance = state.instances.get(&id)?.clone();
        // An operator's named instance serves its pair whatever the
        // standby setting; automatic standbys only while it is on.
        if instance.name.is_none() && !self.standby_enabled() {
            return None;
        }
        state.standby.remove(&key);
        if instance.profile != q.profile || !standing_by(&instance) {
            state.instances.remove(&id);
            return None;
        }
        instance.book().conversation_id = Some(q.conversation_id.clone());
        state
            .by_conversation
            .insert(q.conversation_id.clone(), id.clone());
        instance.log.event(
            "state",
            format!("standby taken by conversation {}", q.conversation_id),
        );
        Some(instance)
    }

    /// Notes that `q`'s module folder was used now, and starts a standby
    /// for it if there is none and there is room.
    pub(super) fn keep_standby_for(&self, q: &Query) {
        if !self.standby_enabled() {
            return;
        }
        let key = StandbyKey::of(q);
        {
            let mut state = self.state();
            state.recent.insert(key.clone(), Instant::now());
            if let Some(id) = state.standby.get(&key).cloned() {
                if state.instances.get(&id).is_some_and(|i| standing_by(i)) {
                    return;
                }
                state.standby.remove(&key);
                state.instances.remove(&id);
            }
        }
        let weak = self.downgrade();
        self.spawn_task(async move {
            if let Some(manager) = weak.upgrade() {
                manager.start_standby(key).await;
            }
        });
    }

    async fn start_standby(&self, key: StandbyKey) {
        if self.shared.shutdown.is_cancelled() || !self.stream_room_for_one_more(None) {
            return;
        }
        let instance = {
            let mut state = self.state();
            if state.standby.contains_key(&key) {
                return;
            }
            let instance = self.new_standby_locked(&mut state, &key, None);
            state.standby.insert(key.clone(), instance.id.clone());
            instance
        };
        if let Err(e) = self.launch_standby(&instance, &key).await {
            tracing::warn!(module = %key.module, error = %e, "a standby stream process could not be started");
            return;
        }
        let weak = self.downgrade();
        let shutdown = self.shared.shutdown.clone();
        self.spawn_task(expire_standby(weak, shutdown, key, instance.id.clone()));
    }

    /// An operator's named stream instance (`instances start --name
    /// marker_arangodb` on the claude-stream backend): a warm `claude`
    /// process in the target's folder, held for the pair whose profile
    /// `key` carries, until the pair's next new conversation takes it or
    /// it is stopped. Unlike an automatic standby it does not expire and
    /// is not the first to go when room is needed; it replaces an
    /// automatic standby of the same key.
    pub(super) async fn start_named_standby(
        &self,
        key: StandbyKey,
        name: Option<String>,
    ) -> Result<Arc<Instance>, InstanceError> {
        let (instance, replaced) = {
            let mut state = self.state();
            let mut replaced = None;
            if let Some(id) = state.standby.get(&key).cloned() {
                match state.instances.get(&id) {
                    Some(held) if held.name.is_some() && standing_by(held) => {
                        return Err(InstanceError::Unavailable(format!(
                            "instance {} \"{}\" is already held for this module pair; stop it first",
                            held.id,
                            held.name.as_deref().unwrap_or_default()
                        )));
                    }
                    _ => replaced = state.instances.remove(&id),
                }
            }
            let instance = self.new_standby_locked(&mut state, &key, name);
            state.standby.insert(key.clone(), instance.id.clone());
            (instance, replaced)
        };
        if let Some(old) = replaced {
            self.stop_child(&old).await;
        }
        self.evict_for_room(&instance.id).await;
        self.launch_standby(&instance, &key).await?;
        Ok(instance)
    }

    fn new_standby_locked(
        &self,
        state: &mut PoolState,
        key: &StandbyKey,
        name: Option<String>,
    ) -> Arc<Instance> {
        self.new_instance_locked(
            state,
            BackendKind::ClaudeStream,
            Some(key.module.clone()),
            None,
            key.profile.clone(),
            name,
        )
    }

    /// Starts the process of a standby registered under `key`; on failure
    /// the standby is forgotten.
    async fn launch_standby(
        &self,
        instance: &Arc<Instance>,
        key: &StandbyKey,
    ) -> Result<(), InstanceError> {
        let launch = launch_for(
            &self.shared.config.claude_stream,
            &key.workdir,
            None,
            &key.profile,
        );
        let mut slot = instance.stream.lock().await;
        match StreamChild::start(
            &launch,
            instance.log.clone(),
            None,
            key.profile.clone(),
            &self.shared.tasks,
        ) {
            Ok(child) => {
                instance.book().pid = Some(child.process.pid);
                *slot = Some(child);
                instance.set_state(InstanceState::Ready);
                instance.log.event("state", "standby".into());
                Ok(())
            }
            Err(e) => {
                let mut state = self.state();
                if state.standby.get(key) == Some(&instance.id) {
                    state.standby.remove(key);
                }
                state.instances.remove(&instance.id);
                Err(e)
            }
        }
    }
}

/// Whether a standby's process is there (or on its way).
fn standing_by(instance: &Instance) -> bool {
    let book = instance.book();
    book.conversation_id.is_none()
        && matches!(book.state, InstanceState::Starting | InstanceState::Ready)
}

/// Ends the standby `id` once its module folder has not been used for
/// `standby_window_s` (unless a conversation took it first).
async fn expire_standby(
    weak: super::manager::WeakManager,
    shutdown: tokio_util::sync::CancellationToken,
    key: StandbyKey,
    id: String,
) {
    loop {
        let wait = {
            let Some(manager) = weak.upgrade() else {
                return;
            };
            let window = Duration::from_secs(manager.shared.config.claude_stream.standby_window_s);
            let state = manager.state();
            if state.standby.get(&key) != Some(&id) {
                return;
            }
            let used = state
                .recent
                .get(&key)
                .map_or(Duration::MAX, |t| t.elapsed());
            window.saturating_sub(used)
        };
        if wait.is_zero() {
            let Some(manager) = weak.upgrade() else {
                return;
            };
            let instance = {
                let mut state = manager.state();
                if state.standby.get(&key) != Some(&id) {
                    return;
                }
                state.standby.remove(&key);
                state.recent.remove(&key);
                state.instances.remove(&id)
            };
            if let Some(instance) = instance {
                tracing::info!(instance = %id, module = %key.module, "the standby's module was not used within standby_window_s: stopping it");
                manager.stop_child(&instance).await;
            }
            return;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
