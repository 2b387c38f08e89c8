//! `claude-comms doctor`: checks what claude-comms needs on this machine and
//! says how to fix each problem.

use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Hub;
use crate::config::BackendKind;

/// How long a probed program may take to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    Warning,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
    pub detail: String,
    /// What to do about it (empty when all is well).
    pub fix: String,
}

impl Check {
    fn new(
        name: &str,
        status: CheckStatus,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name: name.to_string(),
            status,
            detail: detail.into(),
            fix: fix.into(),
        }
    }
}

impl Hub {
    /// Runs every check. `start_child` also starts a claude-code-mcp child
    /// and checks its tool (slow the first time npx downloads it).
    pub async fn doctor(&self, start_child: bool) -> Vec<Check> {
        let config = &self.config().config;
        let mut checks = Vec::new();

        checks.push(match find_program("node") {
            Some(node) => match probe(&node, &["--version"]).await {
                Ok(v) => Check::new("node", CheckStatus::Ok, format!("{} ({v})", node.display()), ""),
                Err(e) => Check::new("node", CheckStatus::Failed, e, "reinstall Node.js 20 or later"),
            },
            None => Check::new(
                "node",
                CheckStatus::Failed,
                "node is not on PATH",
                "install Node.js 20 or later (https://nodejs.org or your package manager); claude-code-mcp runs on it",
            ),
        });
        let child = &config.instances.claude_code_mcp;
        checks.push(match find_program(&child.command) {
            Some(path) => Check::new(
                "child command",
                CheckStatus::Ok,
                format!("{} {}", path.display(), child.args.join(" ")),
                "",
            ),
            None => Check::new(
                "child command",
                CheckStatus::Failed,
                format!("`{}` (instances.claude_code_mcp.command) {}", child.command, not_found(&child.command)),
                if child.command == "npx" {
                    "install Node.js (npx comes with npm), or set instances.claude_code_mcp.command to an installed claude-code-mcp".to_string()
                } else {
                    format!("install it or fix instances.claude_code_mcp.command (now `{}`)", child.command)
                },
            ),
        });

        let cli_name = child
            .env
            .get("CLAUDE_CLI_NAME")
            .cloned()
            .or_else(|| std::env::var("CLAUDE_CLI_NAME").ok())
            .unwrap_or_else(|| config.instances.claude_stream.command.clone());
        checks.push(match find_program(&cli_name) {
            Some(path) => match probe(&path, &["--version"]).await {
                Ok(v) => Check::new("claude CLI", CheckStatus::Ok, format!("{} ({v})", path.display()), ""),
                Err(e) => Check::new("claude CLI", CheckStatus::Failed, e, "reinstall it: npm install -g @anthropic-ai/claude-code"),
            },
            None => Check::new(
                "claude CLI",
                CheckStatus::Failed,
                format!("`{cli_name}` {}", not_found(&cli_name)),
                "install it (npm install -g @anthropic-ai/claude-code) or set CLAUDE_CLI_NAME / instances.claude_stream.command to its absolute path",
            ),
        });
        checks.push(login_check(&self.child_env()));
        if let Some(check) = root_check(&self.child_env()) {
            checks.push(check);
        }

        let data_dir = &self.config().paths.data_dir;
        let probe_file = data_dir.join(".doctor-write-test");
        checks.push(
            match std::fs::create_dir_all(data_dir)
                .and_then(|()| std::fs::write(&probe_file, b"ok"))
            {
                Ok(()) => {
                    let _ = std::fs::remove_file(&probe_file);
                    Check::new(
                        "data dir",
                        CheckStatus::Ok,
                        data_dir.display().to_string(),
                        "",
                    )
                }
                Err(e) => Check::new(
                    "data dir",
                    CheckStatus::Failed,
                    format!("{}: {e}", data_dir.display()),
                    "make it writable, or set CLAUDE_COMMS_HOME to a writable folder",
                ),
            },
        );
        checks.push(match self.message_cursor().await {
            Ok(_) => Check::new("database", CheckStatus::Ok, self.config().database_path().display().to_string(), ""),
            Err(e) => Check::new(
                "database",
                CheckStatus::Failed,
                e.to_string(),
                "if it says locked, another program holds a write lock: stop it, or move `database` in the config",
            ),
        });

        let report = self.load_report();
        checks.push(if report.errors.is_empty() {
            Check::new(
                "descriptors",
                CheckStatus::Ok,
                format!(
                    "{} module(s) loaded",
                    self.list_modules(&Default::default()).modules.len()
                ),
                "",
            )
        } else {
            Check::new(
                "descriptors",
                CheckStatus::Warning,
                report
                    .errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
                "fix the named files (`claude-comms modules validate FILE`)",
            )
        });
        for m in self.list_modules(&Default::default()).modules {
            match self.module_folder(&m.name) {
                Ok(folder) if folder.is_dir() => {
                    if let Some(warning) = self.module_folder_warning(&m.name) {
                        checks.push(Check::new(
                            &format!("module {}", m.name),
                            CheckStatus::Warning,
                            warning,
                            format!("point module_paths.{} at the module's own folder", m.name),
                        ));
                    }
                }
                Ok(folder) => checks.push(Check::new(
                    &format!("module {}", m.name),
                    CheckStatus::Warning,
                    format!(
                        "its folder {} does not exist; it cannot be asked anything",
                        folder.display()
                    ),
                    format!(
                        "set module_paths.{} in {}",
                        m.name,
                        self.config().paths.config_file.display()
                    ),
                )),
                Err(e) => checks.push(Check::new(
                    &format!("module {}", m.name),
                    CheckStatus::Warning,
                    e.to_string(),
                    format!("set module_paths.{} in the config", m.name),
                )),
            }
        }

        checks.extend(self.permission_checks());

        checks.push(if start_child {
            self.child_start_check(&child.tool_name).await
        } else if self.child_start_may_download() {
            Check::new(
                "child start",
                CheckStatus::Warning,
                format!(
                    "not tried: the child command is `{}`, which may download the package first",
                    child.command
                ),
                "`claude-comms doctor --start` starts one (the first run may take a minute)",
            )
        } else {
            Check::new(
                "child start",
                CheckStatus::Warning,
                "not tried (--no-start)",
                "",
            )
        });
        checks
    }
}

impl Hub {
    /// The permission policies: the shim claude-code-mcp needs for them,
    /// `full` modules and deprecated settings as warnings.
    fn permission_checks(&self) -> Vec<Check> {
        let config = &self.config().config;
        let known: Vec<String> = self
            .list_modules(&Default::default())
            .modules
            .into_iter()
            .map(|m| m.name)
            .collect();
        let mut checks = Vec::new();
        checks.push(
            match crate::policy::shim::shim_executable(config.permissions.shim.as_deref()) {
                Ok(path) if path.is_file() => Check::new(
                    "policy shim",
                    CheckStatus::Ok,
                    format!(
                        "claude-code-mcp children of restricted modules run `claude` through {}",
                        path.display()
                    ),
                    "",
                ),
                Ok(path) => Check::new(
                    "policy shim",
                    CheckStatus::Failed,
                    format!("{} does not exist", path.display()),
                    "set permissions.shim to the absolute path of the claude-comms executable",
                ),
                Err(e) => Check::new(
                    "policy shim",
                    CheckStatus::Failed,
                    e,
                    "set permissions.shim to the absolute path of the claude-comms executable",
                ),
            },
        );
        let warnings = crate::policy::report::warnings(config, &known);
        if warnings.is_empty() {
            checks.push(Check::new(
                "permissions",
                CheckStatus::Ok,
                format!(
                    "every module's agent is restricted (default: {})",
                    config.permissions.default.as_str()
                ),
                "",
            ));
        }
        for w in warnings {
            checks.push(Check::new(
                "permissions",
                CheckStatus::Warning,
                w,
                "see the README's security section; give a module `edit` or extra allow rules rather than `full` where you can",
            ));
        }
        checks
    }
}

impl Hub {
    /// Whether starting a claude-code-mcp child may download it first
    /// (the default `npx -y @steipete/claude-code-mcp`): then `doctor`
    /// does not start one unless asked with `--start`.
    pub fn child_start_may_download(&self) -> bool {
        let command = &self.config().config.instances.claude_code_mcp.command;
        Path::new(command)
            .file_name()
            .is_some_and(|name| name == "npx" || name == "bunx" || name == "pnpx")
    }

    /// The environment a child gets from the config, over this process's.
    fn child_env(&self) -> impl Fn(&str) -> Option<String> + '_ {
        let config = &self.config().config.instances;
        move |key: &str| {
            config
                .claude_code_mcp
                .env
                .get(key)
                .or_else(|| config.claude_stream.env.get(key))
                .cloned()
                .or_else(|| std::env::var(key).ok())
                .filter(|v| !v.is_empty())
        }
    }

    /// Starts a claude-code-mcp child and stops it again; a failure quotes
    /// the child's own stderr, which usually names the cause.
    async fn child_start_check(&self, tool_name: &str) -> Check {
        let started = tokio::time::timeout(
            PROBE_TIMEOUT,
            self.instances().start(
                BackendKind::ClaudeCodeMcp,
                crate::instances::ChildProfile::default(),
                None,
            ),
        )
        .await;
        // Whatever happened, no child of the check outlives it.
        let leftovers = self.instances().list();
        let stderr: Vec<String> = leftovers
            .iter()
            .flat_map(|s| s.stderr_tail.iter().cloned())
            .collect();
        for status in &leftovers {
            let _ = self.instances().stop(&status.instance_id).await;
        }
        let quoted = if stderr.is_empty() {
            "the child wrote nothing on stderr".to_string()
        } else {
            format!(
                "the child's stderr:\n         | {}",
                stderr.join("\n         | ")
            )
        };
        match started {
            Ok(Ok(_)) => Check::new(
                "child start",
                CheckStatus::Ok,
                format!("a claude-code-mcp child started and offers `{tool_name}`"),
                "",
            ),
            Ok(Err(e)) => Check::new(
                "child start",
                CheckStatus::Failed,
                e.to_string(),
                format!(
                    "{quoted}\n       (`claude-comms instances monitor ID` follows a running child)"
                ),
            ),
            Err(_) => Check::new(
                "child start",
                CheckStatus::Failed,
                format!("no answer within {}s", PROBE_TIMEOUT.as_secs()),
                format!(
                    "the first npx run downloads the package: check network access to the npm registry; {quoted}"
                ),
            ),
        }
    }
}

/// Why a program was not found: a path that is not there, or a bare name
/// missing from PATH.
fn not_found(name: &str) -> &'static str {
    if Path::new(name).components().count() > 1 {
        if Path::new(name).exists() {
            "is not a file"
        } else {
            "does not exist"
        }
    } else {
        "is not on PATH"
    }
}

/// Credentials the `claude` CLI can use: an API key or OAuth token in the
/// environment (ours or the child's config), or a credentials file that
/// really holds a token. `~/.claude.json` alone is settings, not a login.
fn login_check(env: &impl Fn(&str) -> Option<String>) -> Check {
    for key in [
        "ANTHROPIC_API_KEY",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "ANTHROPIC_AUTH_TOKEN",
    ] {
        if env(key).is_some() {
            return Check::new("claude login", CheckStatus::Ok, format!("{key} is set"), "");
        }
    }
    let credentials = env("CLAUDE_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".claude")))
        .map(|dir| dir.join(".credentials.json"));
    if let Some(file) = &credentials
        && let Ok(text) = std::fs::read_to_string(file)
        && has_token(&text)
    {
        return Check::new(
            "claude login",
            CheckStatus::Ok,
            format!("{} holds a token", file.display()),
            "",
        );
    }
    Check::new(
        "claude login",
        CheckStatus::Warning,
        format!(
            "no ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_AUTH_TOKEN, and no token in {}",
            credentials.map_or("~/.claude/.credentials.json".into(), |f| f
                .display()
                .to_string())
        ),
        "run `claude` once and log in, or set ANTHROPIC_API_KEY in instances.*.env",
    )
}

/// Whether a credentials file holds a non-empty token (any `*token*` or
/// `*Token*` string field, at any depth: the file's layout is Claude's).
fn has_token(text: &str) -> bool {
    fn walk(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => map.iter().any(|(key, v)| {
                (key.to_lowercase().contains("token")
                    && v.as_str().is_some_and(|t| !t.trim().is_empty()))
                    || walk(v)
            }),
            serde_json::Value::Array(items) => items.iter().any(walk),
            _ => false,
        }
    }
    serde_json::from_str(text).is_ok_and(|v| walk(&v))
}

/// Running as root: the `claude` CLI refuses `--dangerously-skip-permissions`
/// then, unless IS_SANDBOX=1 says this is a sandbox.
fn root_check(env: &impl Fn(&str) -> Option<String>) -> Option<Check> {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        return None;
    }
    Some(if env("IS_SANDBOX").as_deref() == Some("1") {
        Check::new("user", CheckStatus::Ok, "root, with IS_SANDBOX=1", "")
    } else {
        Check::new(
            "user",
            CheckStatus::Warning,
            "running as root without IS_SANDBOX=1: the claude CLI then refuses to skip permissions, so agents of modules with skip_permissions cannot work",
            "run claude-comms as an ordinary user, or (in a container or VM) set IS_SANDBOX=1 in the environment or in instances.*.env",
        )
    })
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Resolves a program the way a spawn without a shell does: a path as is,
/// a bare name through PATH.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.components().count() > 1 {
        return path.is_file().then(|| path.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

async fn probe(program: &Path, args: &[&str]) -> Result<String, String> {
    let run = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(PROBE_TIMEOUT, run).await {
        Ok(Ok(out)) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Ok(Ok(out)) => Err(format!(
            "{} {} failed ({}): {}",
            program.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(Err(e)) => Err(format!("{} cannot run: {e}", program.display())),
        Err(_) => Err(format!(
            "{} did not answer within {}s",
            program.display(),
            PROBE_TIMEOUT.as_secs()
        )),
    }
}
