//! What an answering agent's tools may touch, written for each question
//! before it is dispatched: the question's id and pair, the hop chain, the
//! timeout and how to reach the store. The file is private to this user
//! (0600 in a 0700 folder: a PostgreSQL URL may hold a password) and
//! removed with its MCP config when the agent is done ([`ScopeFiles`]).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::super::sending::Sending;
use super::super::{Hub, HubError};
use crate::config::BackendKind;
use crate::config::store::StoreLocation;
use crate::policy::agent_tools;
use crate::store::Store;

/// The one question an agent's tools act on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentScope {
    /// The query the agent answers: the only one its tools touch.
    pub query_id: String,
    pub conversation_id: String,
    /// The asking module (who `ask_asker` asks).
    pub source: String,
    /// The answering module (whose agent this is).
    pub target: String,
    /// The modules that led here, the answerer last (the loop guard's).
    pub chain: Vec<String>,
    /// `context.ask_back_timeout_s`.
    pub timeout_s: u64,
    pub store: ScopeStore,
    /// The hub's config file and data dir: `ask_module` sends as the
    /// answering module with the same configuration.
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
    /// On SQLite, the dispatching hub's socket, poked when a question is
    /// stored or closed (see `wake.rs`); PostgreSQL notifies instead.
    #[serde(default)]
    pub wake: Option<PathBuf>,
}

impl AgentScope {
    /// Where the agent tools' files (and their sockets) live.
    pub fn agent_tools_dir(&self) -> PathBuf {
        self.data_dir.join("agent-tools")
    }
}

/// How the agent tools reach the store the hub uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeStore {
    Sqlite { path: PathBuf },
    Postgres { url: String, pooler: bool },
}

impl ScopeStore {
    fn of(location: StoreLocation) -> ScopeStore {
        match location {
            StoreLocation::Sqlite(path) => ScopeStore::Sqlite { path },
            StoreLocation::Postgres(url, options) => ScopeStore::Postgres {
                url,
                pooler: options.pooler,
            },
        }
    }

    /// Opens the store (a small pool: the tools make one call at a time).
    pub fn open(&self) -> Result<Store, HubError> {
        Ok(match self {
            ScopeStore::Sqlite { path } => Store::open(path)?,
            ScopeStore::Postgres { url, pooler } => {
                let options = crate::store::PgOptions {
                    max_connections: 2,
                    pooler: *pooler,
                    listen_url: None,
                    application_name: Some("claude-comms:agent-tools".into()),
                    lazy: false,
                };
                Store::open_postgres_with(url, &options)?
            }
        })
    }
}

impl AgentScope {
    /// The hub's configuration, as the hub that wrote this scope read it
    /// (the environment still decides what it decides for the hub).
    pub fn load_config(&self) -> Result<crate::config::LoadedConfig, HubError> {
        use crate::config::{CONFIG_ENV, HOME_ENV, LoadedConfig, Overrides};
        let (home, file) = (
            self.data_dir.display().to_string(),
            self.config_file.display().to_string(),
        );
        LoadedConfig::load_with_env(&Overrides::default(), |key| match key {
            HOME_ENV => Some(home.clone()),
            CONFIG_ENV => Some(file.clone()),
            other => std::env::var(other).ok(),
        })
        .map_err(|e| HubError::Internal(format!("cannot load the configuration: {e}")))
    }

    pub fn read(path: &Path) -> Result<AgentScope, HubError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            HubError::Internal(format!(
                "cannot read the agent tools' scope {}: {e}",
                path.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            HubError::Internal(format!(
                "the agent tools' scope {} is not valid: {e}",
                path.display()
            ))
        })
    }
}

/// The files of one dispatched question; removed when dropped.
pub(crate) struct ScopeFiles {
    config: PathBuf,
    scope: PathBuf,
}

impl ScopeFiles {
    /// The scope file (what a stream process's tools follow).
    pub(crate) fn scope(&self) -> &Path {
        &self.scope
    }
}

impl Drop for ScopeFiles {
    fn drop(&mut self) {
        for path in [&self.config, &self.scope] {
            if let Err(e) = std::fs::remove_file(path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "could not remove an agent tools file");
            }
        }
    }
}

impl Hub {
    /// Where the agent tools' files of dispatched questions live.
    pub(crate) fn agent_tools_dir(&self) -> PathBuf {
        self.config().paths.data_dir.join("agent-tools")
    }

    /// Writes the scope of the question `sending` carries. On
    /// claude-code-mcp also an MCP config, both named by the prompt (how
    /// the exec shim finds them: see `policy/agent_tools.rs`); a stream
    /// process has its own config and follows this scope file, named by
    /// the query (a stream turn's prompt may repeat). `None` when there is
    /// nothing to give: a reused answer runs no agent.
    pub(in crate::hub) fn write_agent_scope(
        &self,
        sending: &Sending,
    ) -> Result<Option<ScopeFiles>, HubError> {
        if sending.module.reused.is_some() || sending.query.is_none() {
            return Ok(None);
        }
        // A stream process started without the tools (no claude-comms
        // executable to serve them) has nothing to follow.
        if sending.backend == BackendKind::ClaudeStream && sending.profile.agent_tools.is_none() {
            return Ok(None);
        }
        let config = &self.config();
        let dir = self.agent_tools_dir();
        let failed = |e: std::io::Error| {
            HubError::Internal(format!(
                "cannot write the agent tools' files in {}: {e}",
                dir.display()
            ))
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(failed)?;
        let scope = AgentScope {
            query_id: sending.query_id().to_string(),
            conversation_id: sending.conversation.id.clone(),
            source: sending.conversation.source.clone(),
            target: sending.conversation.target.clone(),
            chain: sending.chain.clone(),
            timeout_s: config.config.context.ask_back_timeout_s,
            store: ScopeStore::of(config.store_location()),
            config_file: config.paths.config_file.clone(),
            data_dir: config.paths.data_dir.clone(),
            wake: match self.store.fleet() {
                Some(_) => None,
                None => self.ask_wake.socket(&dir, &self.server_id),
            },
        };
        let config_path = match sending.backend {
            BackendKind::ClaudeCodeMcp => {
                agent_tools::config_for_prompt(&dir, &sending.prompt_text)
            }
            BackendKind::ClaudeStream => dir.join(format!("query-{}.json", scope.query_id)),
        };
        let scope_path = config_path.with_extension("scope.json");
        let exe = crate::policy::shim::shim_executable(config.config.permissions.shim.as_deref())
            .map_err(HubError::Internal)?;
        let files = ScopeFiles {
            config: config_path.clone(),
            scope: scope_path.clone(),
        };
        let scope_text = serde_json::to_string(&scope)
            .map_err(|e| HubError::Internal(format!("cannot write the scope: {e}")))?;
        write_private(&scope_path, &scope_text).map_err(failed)?;
        if sending.backend == BackendKind::ClaudeCodeMcp {
            let mcp = agent_tools::mcp_config(&exe, &scope_path).to_string();
            write_private(&config_path, &mcp).map_err(failed)?;
        }
        Ok(Some(files))
    }
}

/// Writes `text` to a new file only this user may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}
