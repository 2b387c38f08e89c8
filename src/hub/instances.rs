//! Instances through the hub: every operation a face (MCP, CLI) may ask of
//! background instances. Each change is followed by a heartbeat, so other
//! processes see it at once; errors stay typed ([`HubError::Instance`]).

use super::HubError;
use super::daemon_ops::{
    INSTANCE_STATUS, InstanceIdArgs, LIST_INSTANCES, NoArguments, START_INSTANCE, StartInstanceArgs,
};
use crate::config::BackendKind;
use crate::instances::{ChildProfile, InstanceEvent, InstanceStatus, StreamHome};

impl<'h> crate::hub::Instances<'h> {
    /// This process's instances (the daemon's, when one carries the work).
    pub async fn local(self) -> Result<Vec<InstanceStatus>, HubError> {
        if let Some(remote) = &self.remote {
            let listed = remote
                .call(&LIST_INSTANCES, &NoArguments {}, None, &Default::default())
                .await?;
            return Ok(listed.instances);
        }
        Ok(self.instance_pool().list())
    }

    /// One instance of this process (or of the daemon).
    pub async fn status(self, id: &str) -> Result<InstanceStatus, HubError> {
        if let Some(remote) = &self.remote {
            let args = InstanceIdArgs {
                instance_id: id.to_string(),
            };
            return remote
                .call(&INSTANCE_STATUS, &args, None, &Default::default())
                .await;
        }
        Ok(self.instance_pool().status(id)?)
    }

    /// Starts a claude-code-mcp instance now and returns at once; it serves
    /// every later query of the pair it is bound to (its child is started
    /// with that pair's profile), from any host or CLI call, until stopped
    /// or reclaimed. A name that reads `<source>_<target>` of two known
    /// modules binds that pair (the seed's `start-instance --name
    /// marker_arangodb`).
    pub async fn start(self, request: StartInstance) -> Result<InstanceStatus, HubError> {
        if let Some(remote) = &self.remote {
            let (source, module) = request.pair.clone().unzip();
            let args = StartInstanceArgs {
                backend: request.backend,
                module,
                source,
                pair: None,
                name: request.name.clone(),
            };
            return remote
                .call(&START_INSTANCE, &args, None, &Default::default())
                .await;
        }
        let backend = request
            .backend
            .unwrap_or(self.config().config.instances.backend);
        let pair = match (request.pair, &request.name) {
            (Some(pair), _) => Some(pair),
            (None, Some(name)) => self.pair_named(name),
            (None, None) => None,
        };
        let profile = match &pair {
            Some((source, target)) => {
                self.modules().descriptor(source)?;
                self.modules().descriptor(target)?;
                self.profile_for_pair(source, target, backend)?
            }
            None => ChildProfile::default(),
        };
        // A stream process runs in the answering module's folder from the
        // start, so the pair's next new conversation can begin on it.
        let stream_home = match (&pair, backend) {
            (Some((_, target)), BackendKind::ClaudeStream) => Some(StreamHome {
                module: target.clone(),
                workdir: self.messaging().existing_module_folder(target)?,
            }),
            _ => None,
        };
        self.node().announce().await?;
        let status = self
            .instance_pool()
            .start(backend, profile, request.name, stream_home)
            .await?;
        self.node().beat().await?;
        Ok(status)
    }

    /// Stops an instance of this process and its whole process tree (faces
    /// call [`Instances::control`](crate::hub::Instances::control), which finds the owner).
    pub(super) async fn stop_instance(self, id: &str) -> Result<InstanceStatus, HubError> {
        let status = self.instance_pool().stop(id).await?;
        self.beat_if_announced().await;
        Ok(status)
    }

    /// Takes no new work on an instance of this process.
    pub(super) async fn pause_instance(self, id: &str) -> Result<InstanceStatus, HubError> {
        let status = self.instance_pool().pause(id)?;
        self.beat_if_announced().await;
        Ok(status)
    }

    /// Lets a paused (or crash-looping) instance of this process work again.
    pub(super) async fn resume_instance(self, id: &str) -> Result<InstanceStatus, HubError> {
        let status = self.instance_pool().resume(id)?;
        self.beat_if_announced().await;
        Ok(status)
    }

    /// Replaces the child of an instance of this process with a fresh one
    /// (the id, profile and pairs stay).
    pub(super) async fn restart_instance(self, id: &str) -> Result<InstanceStatus, HubError> {
        let status = self.instance_pool().restart(id).await?;
        self.beat_if_announced().await;
        Ok(status)
    }

    /// The live events of an instance of this process.
    pub fn subscribe(
        self,
        id: &str,
    ) -> Result<tokio::sync::broadcast::Receiver<InstanceEvent>, HubError> {
        Ok(self.instance_pool().subscribe(id)?)
    }

    /// An instance operation carried out by the daemon, when one carries
    /// this process's work; `None` when it is to be done here.
    async fn beat_if_announced(self) {
        if self.is_announced()
            && let Err(e) = self.node().beat().await
        {
            tracing::warn!(error = %e, "could not record the instance change in the database");
        }
    }

    /// The profile of the children that answer `source` asking `target`.
    fn profile_for_pair(
        self,
        source: &str,
        target: &str,
        backend: BackendKind,
    ) -> Result<ChildProfile, HubError> {
        let chain = crate::context::HopContext::from_env()
            .check(source, target, self.config().config.context.hop_limit)
            .map_err(|e| HubError::BadRequest(e.to_string()))?;
        self.modules().child_profile(&chain, backend)
    }
}

/// A module pair written `SOURCE:TARGET` (`marker:arangodb`), as the CLI's
/// `--pair` and the `start_instance` tool's `pair` take it.
pub fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((source, target)) if !source.is_empty() && !target.is_empty() => {
            Ok((source.to_string(), target.to_string()))
        }
        _ => Err(format!(
            "\"{text}\" is not SOURCE:TARGET (e.g. marker:arangodb)"
        )),
    }
}

/// What `start_instance` is asked for.
#[derive(Debug, Clone, Default)]
pub struct StartInstance {
    /// Default: `instances.backend`.
    pub backend: Option<BackendKind>,
    /// The asking and answering module this instance serves.
    pub pair: Option<(String, String)>,
    /// A name every instance command accepts instead of the id.
    pub name: Option<String>,
}

impl<'h> crate::hub::Instances<'h> {
    /// The pair a name such as `marker_arangodb` stands for, when both
    /// halves (split at any `_`) are known modules.
    fn pair_named(self, name: &str) -> Option<(String, String)> {
        name.match_indices('_').find_map(|(at, _)| {
            let (source, target) = (&name[..at], &name[at + 1..]);
            (self.modules().descriptor(source).is_ok() && self.modules().descriptor(target).is_ok())
                .then(|| (source.to_string(), target.to_string()))
        })
    }
}
