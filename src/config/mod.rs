//! Configuration: a TOML file, environment variables and command-line flags,
//! merged in that order, remembering where each value came from so that
//! `claude-comms config show` can tell an operator why a value is what it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod budgets;
pub mod daemon;
pub mod fleet;
mod instances;
pub mod permissions;
pub mod store;

pub use budgets::{Budget, BudgetsConfig};
pub use instances::{
    BackendKind, CHILD_PACKAGE, CHILD_VERSION, ClaudeCodeMcpConfig, ClaudeStreamConfig,
    InstancesConfig, child_executable, children_dir,
};

/// Environment variable that puts all data and config under one folder.
pub const HOME_ENV: &str = "CLAUDE_COMMS_HOME";
/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "CLAUDE_COMMS_CONFIG";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
    #[error("cannot find a home folder for claude-comms data; set {HOME_ENV}")]
    NoHome,
    #[error("{0}")]
    Invalid(String),
}

/// The whole configuration. Unknown keys anywhere are an error that names them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Log filter (tracing `EnvFilter` syntax); `RUST_LOG` wins over it.
    pub log_level: String,
    /// Also write logs to this file (appended).
    pub log_file: Option<String>,
    /// Extra descriptor folders, read after the shipped and the user's ones.
    pub descriptor_dirs: Vec<String>,
    /// SQLite database file; defaults to `<data dir>/claude-comms.db`.
    pub database: Option<String>,
    /// When a commit reaches the disk: `normal` (default; a committed message
    /// survives any crash of claude-comms, a power cut may lose the last
    /// moments) or `full` (also survives a power cut; each commit waits for
    /// the disk, about 0.15 ms more per write here).
    pub database_sync: DatabaseSync,
    /// Root folders of modules, overriding the descriptors' `path`.
    pub module_paths: BTreeMap<String, String>,
    pub context: ContextConfig,
    pub instances: InstancesConfig,
    /// Where the CLI and `serve` send their work: `auto` (a running hub
    /// daemon, else start one), `embedded` (this process owns its children,
    /// no daemon), or the path of a daemon's socket. `CLAUDE_COMMS_HUB` wins.
    pub hub: String,
    pub daemon: daemon::DaemonConfig,
    /// What answering agents may do, per module (see `crate::policy`).
    pub permissions: permissions::PermissionsConfig,
    /// Limits on what module pairs may spend; a query over a budget is
    /// refused before it is stored or dispatched.
    pub budgets: BudgetsConfig,
    /// Where conversations are kept (see [`store::StoreConfig`]).
    pub store: store::StoreConfig,
    /// This daemon as a node of a fleet (a PostgreSQL store only).
    pub fleet: fleet::FleetConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            // rmcp logs every message at info; its warnings are what operators need.
            log_level: "info,rmcp=warn".into(),
            log_file: None,
            descriptor_dirs: Vec::new(),
            database: None,
            database_sync: DatabaseSync::Normal,
            module_paths: BTreeMap::new(),
            context: ContextConfig::default(),
            instances: InstancesConfig::default(),
            hub: "auto".into(),
            daemon: daemon::DaemonConfig::default(),
            permissions: permissions::PermissionsConfig::default(),
            budgets: BudgetsConfig::default(),
            store: store::StoreConfig::default(),
            fleet: fleet::FleetConfig::default(),
        }
    }
}

/// SQLite's `synchronous` setting for the WAL journal: the store's own
/// type (the store never reads the config).
pub use crate::store::DatabaseSync;

/// How prompts for the answering agent are built.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextConfig {
    /// Most tokens a rendered prompt may take (estimated at 4 bytes a token).
    pub token_budget: usize,
    /// Largest message a module may send, in bytes.
    pub max_message_bytes: usize,
    /// How many modules deep a chain of questions may go before it is refused.
    pub hop_limit: u32,
    /// How long an answering agent's `ask_asker` waits for the asker's
    /// answer, in seconds, before it goes on with what it knows.
    pub ask_back_timeout_s: u64,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            // Leaves most of a 200k-token window for the agent's own work.
            token_budget: 24_000,
            max_message_bytes: 100_000,
            hop_limit: 3,
            // Long enough for a person at a terminal to read and type.
            ask_back_timeout_s: 300,
        }
    }
}

/// Where claude-comms keeps its files.
#[derive(Debug, Clone, Serialize)]
pub struct Paths {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
}

impl Paths {
    pub fn user_descriptor_dir(&self) -> PathBuf {
        self.data_dir.join("descriptors")
    }

    /// Where templates that override the built-in ones live.
    pub fn template_dir(&self) -> PathBuf {
        self.config_file
            .parent()
            .map(|p| p.join("templates"))
            .unwrap_or_else(|| self.data_dir.join("templates"))
    }
}

/// What the command line adds on top of the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub descriptor_dirs: Vec<PathBuf>,
}

/// The effective configuration and where each value came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    pub paths: Paths,
    /// Dotted key -> "default", "file <path>", "env VAR" or "flag --x".
    pub provenance: BTreeMap<String, String>,
}

impl LoadedConfig {
    /// Reads the configuration as the process environment and `overrides` say.
    pub fn load(overrides: &Overrides) -> Result<LoadedConfig, ConfigError> {
        Self::load_with_env(overrides, |k| std::env::var(k).ok())
    }

    /// Like [`LoadedConfig::load`] with an explicit environment (for tests).
    pub fn load_with_env(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<LoadedConfig, ConfigError> {
        let home = env(HOME_ENV).filter(|h| !h.is_empty()).map(PathBuf::from);
        let (config_dir, data_dir) = match &home {
            Some(home) => (home.clone(), home.clone()),
            None => {
                let dirs = directories::ProjectDirs::from("", "", "claude-comms")
                    .ok_or(ConfigError::NoHome)?;
                (
                    dirs.config_dir().to_path_buf(),
                    dirs.data_dir().to_path_buf(),
                )
            }
        };
        let explicit = overrides
            .config_file
            .clone()
            .map(|p| (p, "flag --config"))
            .or_else(|| env(CONFIG_ENV).map(|p| (PathBuf::from(p), "env CLAUDE_COMMS_CONFIG")));
        let config_file = explicit
            .as_ref()
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| config_dir.join("config.toml"));

        let mut provenance = BTreeMap::new();
        let mut config = match std::fs::read_to_string(&config_file) {
            Ok(text) => parse_file(&config_file, &text, &mut provenance)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
                Config::default()
            }
            Err(e) => {
                return Err(ConfigError::File {
                    path: config_file.display().to_string(),
                    message: format!(
                        "cannot read ({e}); named by {}",
                        explicit.map(|(_, by)| by).unwrap_or("default location")
                    ),
                });
            }
        };

        if let Some(filter) = env("RUST_LOG").filter(|v| !v.is_empty()) {
            config.log_level = filter;
            provenance.insert("log_level".into(), "env RUST_LOG".into());
        }
        if let Some(hub) = env(daemon::HUB_ENV).filter(|v| !v.is_empty()) {
            config.hub = hub;
            provenance.insert("hub".into(), format!("env {}", daemon::HUB_ENV));
        }
        if let Some(url) = env(store::STORE_URL_ENV).filter(|v| !v.trim().is_empty()) {
            config.store.url = Some(url);
            provenance.insert("store.url".into(), format!("env {}", store::STORE_URL_ENV));
        }
        if let Some(url) = env(store::STORE_LISTEN_URL_ENV).filter(|v| !v.trim().is_empty()) {
            config.store.listen_url = Some(url);
            provenance.insert(
                "store.listen_url".into(),
                format!("env {}", store::STORE_LISTEN_URL_ENV),
            );
        }
        if let Some(file) = env("CLAUDE_COMMS_LOG_FILE").filter(|v| !v.is_empty()) {
            config.log_file = Some(file);
            provenance.insert("log_file".into(), "env CLAUDE_COMMS_LOG_FILE".into());
        }
        if !overrides.descriptor_dirs.is_empty() {
            // Relative to where the operator typed the flag.
            config.descriptor_dirs.extend(
                overrides
                    .descriptor_dirs
                    .iter()
                    .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()))
                    .map(|d| d.display().to_string()),
            );
            provenance.insert("descriptor_dirs".into(), "flag --descriptors".into());
        }
        validate(&config)?;
        Ok(LoadedConfig {
            config,
            paths: Paths {
                config_file,
                data_dir,
            },
            provenance,
        })
    }

    /// Every effective value as `(dotted key, value, source)`, sorted by key,
    /// with secrets hidden (see [`crate::redact::config_value`]).
    pub fn entries(&self) -> Vec<(String, serde_json::Value, String)> {
        let value = serde_json::to_value(&self.config).unwrap_or_default();
        let mut flat = Vec::new();
        flatten("", &value, &mut flat);
        flat.into_iter()
            .map(|(key, value)| {
                let source = self.source_of(&key);
                let value = crate::redact::config_value(&key, value);
                (key, value, source)
            })
            .collect()
    }

    fn source_of(&self, key: &str) -> String {
        // A value set as a whole table (e.g. `[module_paths]`) covers its keys.
        let mut probe = key;
        loop {
            if let Some(s) = self.provenance.get(probe) {
                return s.clone();
            }
            match probe.rfind('.') {
                Some(i) => probe = &probe[..i],
                None => return "default".into(),
            }
        }
    }

    /// Where the store is: the PostgreSQL URL of `[store]` (or
    /// `CLAUDE_COMMS_STORE_URL`), else the SQLite file.
    pub fn store_location(&self) -> store::StoreLocation {
        match &self.config.store.url {
            Some(url) => {
                let node = self.config.fleet.node_name();
                store::StoreLocation::Postgres(url.clone(), self.config.store.pg_options(&node))
            }
            None => store::StoreLocation::Sqlite(self.database_path()),
        }
    }

    /// The store's location for people: the SQLite file, or the URL
    /// without its password.
    pub fn store_shown(&self) -> String {
        self.store_location().shown()
    }

    pub fn database_path(&self) -> PathBuf {
        match &self.config.database {
            Some(p) => crate::expand::expand_path(p).unwrap_or_else(|_| PathBuf::from(p)),
            None => self.paths.data_dir.join("claude-comms.db"),
        }
    }

    pub fn descriptor_sources(&self) -> crate::descriptor::DescriptorSources {
        crate::descriptor::DescriptorSources {
            // Only a fleet (a PostgreSQL store) shares descriptors.
            fleet_dir: self
                .config
                .store
                .url
                .is_some()
                .then(|| self.paths.data_dir.join("fleet-descriptors")),
            user_dir: self.paths.user_descriptor_dir(),
            extra_dirs: self
                .config
                .descriptor_dirs
                .iter()
                .map(|d| crate::expand::expand_path(d).unwrap_or_else(|_| PathBuf::from(d)))
                // A relative folder in the config file is relative to that file.
                .map(|d| match self.paths.config_file.parent() {
                    Some(base) if d.is_relative() => base.join(d),
                    _ => d,
                })
                .collect(),
        }
    }
}

fn parse_file(
    path: &Path,
    text: &str,
    provenance: &mut BTreeMap<String, String>,
) -> Result<Config, ConfigError> {
    let err = |message: String| ConfigError::File {
        path: path.display().to_string(),
        message,
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
    let config: Config = toml::from_str(text).map_err(|e| err(e.to_string()))?;
    let source = format!("file {}", path.display());
    let value = serde_json::to_value(&table).map_err(|e| err(e.to_string()))?;
    let mut keys = Vec::new();
    flatten("", &value, &mut keys);
    for (key, _) in keys {
        provenance.insert(key, source.clone());
    }
    Ok(config)
}

fn validate(config: &Config) -> Result<(), ConfigError> {
    daemon::HubPolicy::parse(&config.hub).map_err(ConfigError::Invalid)?;
    store::validate(&config.store).map_err(ConfigError::Invalid)?;
    fleet::validate(&config.fleet).map_err(ConfigError::Invalid)?;
    let i = &config.instances;
    if i.claude_code_mcp.pool_max == 0 || i.claude_code_mcp.pool_min > i.claude_code_mcp.pool_max {
        return Err(ConfigError::Invalid(format!(
            "instances.claude_code_mcp: pool_min ({}) must be at most pool_max ({}), and pool_max at least 1",
            i.claude_code_mcp.pool_min, i.claude_code_mcp.pool_max
        )));
    }
    if i.claude_code_mcp.max_in_flight == 0 {
        return Err(ConfigError::Invalid(
            "instances.claude_code_mcp.max_in_flight must be at least 1".into(),
        ));
    }
    if config.context.token_budget < 1_000 {
        return Err(ConfigError::Invalid(format!(
            "context.token_budget: {} is too small to hold a prompt (at least 1000)",
            config.context.token_budget
        )));
    }
    config
        .permissions
        .validate()
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    config.budgets.validate()?;
    if config.instances.max_warm_memory_mb == Some(0) {
        return Err(ConfigError::Invalid(
            "instances.max_warm_memory_mb must be at least 1 (leave it out for a quarter of the machine's memory)".into(),
        ));
    }
    for (name, path) in &config.module_paths {
        crate::expand::expand_path(path)
            .map_err(|e| ConfigError::Invalid(format!("module_paths.{name}: {e}")))?;
    }
    Ok(())
}

/// Flattens nested objects into dotted keys; arrays and scalars are leaves.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

#[cfg(test)]
mod tests;
