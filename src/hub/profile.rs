//! What the children that answer a query are started with beyond their
//! backend's config: the loop guard's hop context and the answering
//! module's permission policy (see `crate::policy`). The instance pool
//! gives a query only to a child of the same profile, so an instance never
//! serves a module whose policy differs from the one it was started with.

use super::HubError;
use crate::config::BackendKind;
use crate::context::HopContext;
use crate::instances::{AgentToolsSetup, ChildProfile};
use crate::policy::{Mode, ModulePolicy, PolicyFiles, shim};

/// Profiles built so far, by chain and backend.
pub(crate) type ProfileCache = std::collections::HashMap<(Vec<String>, BackendKind), ChildProfile>;

/// Distinct chains kept at most (a chain is a path of modules, so a real
/// system has few); past this the cache starts afresh.
const PROFILES_KEPT: usize = 1024;

impl<'h> crate::hub::Modules<'h> {
    /// The profile for a query along `chain` (asking modules, then the
    /// answerer) on `backend`.
    ///
    /// A profile depends only on the chain, the backend and the config read
    /// at start, so each is built (settings file written, the real `claude`
    /// looked up on PATH) once per process, not per message.
    pub(crate) fn child_profile(
        self,
        chain: &[String],
        backend: BackendKind,
    ) -> Result<ChildProfile, HubError> {
        let key = (chain.to_vec(), backend);
        if let Some(profile) = self.profiles().get(&key) {
            return Ok(profile.clone());
        }
        let profile = self.build_child_profile(chain, backend)?;
        let mut profiles = self.profiles();
        if profiles.len() >= PROFILES_KEPT {
            profiles.clear();
        }
        profiles.insert(key, profile.clone());
        Ok(profile)
    }

    fn profiles(self) -> std::sync::MutexGuard<'h, ProfileCache> {
        self.hub()
            .profiles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn build_child_profile(
        self,
        chain: &[String],
        backend: BackendKind,
    ) -> Result<ChildProfile, HubError> {
        let mut env = HopContext::from_env().child_env(chain);
        let mut stream_args = Vec::new();
        let target = chain.last().map(String::as_str).unwrap_or_default();
        let policy = self.modules().policy(target);
        let config = &self.config().config;
        let files = PolicyFiles::new(&self.config().paths.data_dir);
        let refused = |why: String| HubError::Policy {
            module: target.to_string(),
            why,
        };
        match backend {
            BackendKind::ClaudeStream => {
                stream_args = files
                    .claude_args(&policy)
                    .map_err(|e| refused(format!("cannot write its settings file: {e}")))?;
                if policy.mode == Mode::Full {
                    // The deprecated stream settings still apply where the
                    // policy leaves everything open.
                    let stream = &config.instances.claude_stream;
                    if !stream.allowed_tools.is_empty() {
                        stream_args.push("--allowedTools".into());
                        stream_args.extend(stream.allowed_tools.iter().cloned());
                    }
                    if let Some(mode) = &stream.permission_mode {
                        stream_args.extend(["--permission-mode".into(), mode.clone()]);
                    }
                }
            }
            BackendKind::ClaudeCodeMcp => {
                let shim_exe =
                    shim::shim_executable(config.permissions.shim.as_deref()).map_err(refused)?;
                env.extend(
                    shim::mcp_child_env(
                        &policy,
                        &files,
                        &config.instances.claude_code_mcp.env,
                        &shim_exe,
                        Some(&self.agent_tools_dir()),
                    )
                    .map_err(refused)?,
                );
            }
        }
        let agent_tools = match backend {
            // claude-code-mcp's `claude` gets them through the shim (above).
            BackendKind::ClaudeCodeMcp => None,
            // A program that embeds the hub without a claude-comms beside
            // it still answers, only without the tools.
            BackendKind::ClaudeStream => {
                match shim::shim_executable(config.permissions.shim.as_deref()) {
                    Ok(exe) => Some(AgentToolsSetup {
                        dir: self.agent_tools_dir(),
                        exe,
                    }),
                    Err(why) => {
                        tracing::warn!(%why, "stream agents get no ask-back tools");
                        None
                    }
                }
            }
        };
        Ok(ChildProfile {
            env,
            stream_args,
            agent_tools,
        })
    }

    /// The permission policy of `module`, from the operator's config only.
    pub fn policy(self, module: &str) -> ModulePolicy {
        self.config().config.permissions.policy_for(module)
    }
}
