//! The exec shim that carries a policy through claude-code-mcp.
//!
//! claude-code-mcp runs `<CLAUDE_CLI_NAME> --dangerously-skip-permissions -p
//! <prompt>` and offers no way to add arguments. So for a restricted module
//! its child gets `CLAUDE_CLI_NAME` = this program and
//! [`SHIM_ENV`] = a [`ShimSpec`]; run that way, `main` calls [`run`], which
//! replaces this process (exec, no shell, no process in between) with the
//! real `claude`, dropping `--dangerously-skip-permissions` and adding the
//! policy's arguments and `--output-format stream-json --verbose`, so the
//! answer also reports each tool use.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ModulePolicy, PolicyFiles, claude_settings::child_policy};

/// Set (to a JSON [`ShimSpec`]) only in the environment of a claude-code-mcp
/// child whose `claude` must run under a policy.
pub const SHIM_ENV: &str = "CLAUDE_COMMS_CLAUDE_SHIM";
/// How claude-code-mcp finds its `claude`.
pub const CLI_NAME_ENV: &str = "CLAUDE_CLI_NAME";
const SKIP_PERMISSIONS: &str = "--dangerously-skip-permissions";

/// What the shim does, decided by the hub when it starts the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShimSpec {
    /// The real `claude`: an absolute path or a name looked up on PATH.
    pub claude: String,
    /// Arguments added after claude-code-mcp's own.
    pub args: Vec<String>,
    /// Drop claude-code-mcp's `--dangerously-skip-permissions`.
    pub drop_skip_permissions: bool,
    /// `CLAUDE_CLI_NAME` as it was before we pointed it at the shim (given
    /// back to `claude`, so nothing below it sees the shim).
    pub cli_name: Option<String>,
    /// Refuse to run in the home folder: claude-code-mcp falls back to it
    /// when the module's folder is missing, and rules relative to the
    /// working folder would then cover the whole home.
    pub refuse_home: bool,
    /// Where the hub leaves the agent tools' MCP config of each question
    /// it dispatches (see `agent_tools.rs`): the `claude` of a question
    /// that has one gets `ask_asker` and `ask_module`.
    #[serde(default)]
    pub agent_tools: Option<PathBuf>,
}

/// The shim's command line: what claude-code-mcp passed, without the
/// dropped flag, then the policy's arguments.
pub fn shim_args(spec: &ShimSpec, given: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = given
        .into_iter()
        .filter(|a| !(spec.drop_skip_permissions && a == SKIP_PERMISSIONS))
        .collect();
    args.extend(spec.args.iter().map(OsString::from));
    if let Some(dir) = &spec.agent_tools
        && let Some(config) = agent_tools_config(dir, &args)
    {
        args.extend(
            super::agent_tools::claude_args(&config)
                .into_iter()
                .map(OsString::from),
        );
    }
    args
}

/// The agent tools' MCP config of the question whose prompt (`-p`) is in
/// `args`, when the hub wrote one.
fn agent_tools_config(dir: &Path, args: &[OsString]) -> Option<PathBuf> {
    let at = args.iter().position(|a| a == "-p" || a == "--print")?;
    let prompt = args.get(at + 1)?.to_str()?;
    let config = super::agent_tools::config_for_prompt(dir, prompt);
    config.is_file().then_some(config)
}

/// Runs as the shim when [`SHIM_ENV`] is set; returns only if it is not
/// (otherwise the process becomes `claude` or exits with a message).
pub fn run_if_requested() {
    let Some(raw) = std::env::var_os(SHIM_ENV) else {
        return;
    };
    let code = match exec(&raw) {
        Ok(never) => match never {},
        Err(why) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("claude-comms (claude shim): {why}");
            }
            126
        }
    };
    std::process::exit(code);
}

fn exec(raw: &std::ffi::OsStr) -> Result<std::convert::Infallible, String> {
    use std::os::unix::process::CommandExt;

    let spec: ShimSpec = serde_json::from_str(raw.to_str().unwrap_or(""))
        .map_err(|e| format!("{SHIM_ENV} is not a valid shim spec: {e}"))?;
    if spec.refuse_home {
        let cwd = std::env::current_dir().and_then(|d| d.canonicalize()).ok();
        let home = std::env::var_os("HOME").and_then(|h| PathBuf::from(h).canonicalize().ok());
        if cwd.is_some() && cwd == home {
            return Err(
                "refusing to run the agent in the home folder (the module's folder is probably missing, and its policy covers the working folder)"
                    .into(),
            );
        }
    }
    let mut command = std::process::Command::new(&spec.claude);
    command
        .args(shim_args(&spec, std::env::args_os().skip(1)))
        .env_remove(SHIM_ENV);
    match &spec.cli_name {
        Some(name) => command.env(CLI_NAME_ENV, name),
        None => command.env_remove(CLI_NAME_ENV),
    };
    let error = command.exec();
    Err(format!("cannot run {}: {error}", spec.claude))
}

/// The `claude` claude-code-mcp would have run: its `CLAUDE_CLI_NAME` (an
/// absolute path, or a name for which `~/.claude/local/claude` wins), else
/// `claude` on PATH.
pub fn real_claude(child_env: &BTreeMap<String, String>) -> String {
    let lookup = |key: &str| {
        child_env
            .get(key)
            .cloned()
            .or_else(|| std::env::var(key).ok())
            .filter(|v| !v.is_empty())
    };
    let name = lookup(CLI_NAME_ENV);
    if let Some(name) = &name
        && Path::new(name).is_absolute()
    {
        return name.clone();
    }
    if let Some(home) = lookup("HOME") {
        let local = Path::new(&home).join(".claude/local/claude");
        if local.exists() {
            return local.display().to_string();
        }
    }
    name.unwrap_or_else(|| "claude".into())
}

/// The claude-comms executable claude-code-mcp should run as its `claude`:
/// the configured one, this program, or (when the library runs inside
/// another program, as in tests) a `claude-comms` beside it or one folder up.
pub fn shim_executable(configured: Option<&str>) -> Result<PathBuf, String> {
    if let Some(path) = configured {
        return Ok(PathBuf::from(path));
    }
    let this = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let named_like_us = this
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("claude-comms"));
    if named_like_us {
        return Ok(this);
    }
    this.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("claude-comms"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            format!(
                "{} is not claude-comms and none is beside it; set permissions.shim",
                this.display()
            )
        })
}

/// The environment a claude-code-mcp child needs so that every `claude` it
/// runs obeys `policy` (and, with `agent_tools`, gets the agent tools of
/// its question); empty for `full` without rules and without agent tools.
pub fn mcp_child_env(
    policy: &ModulePolicy,
    files: &PolicyFiles,
    child_env: &BTreeMap<String, String>,
    shim: &Path,
    agent_tools: Option<&Path>,
) -> Result<Vec<(String, String)>, String> {
    let child = child_policy(policy);
    if child.skip_permissions && child.settings.is_none() && agent_tools.is_none() {
        return Ok(Vec::new());
    }
    let mut args = files
        .claude_args(policy)
        .map_err(|e| format!("cannot write the policy's settings file: {e}"))?;
    // claude-code-mcp passes the flag itself; the spec decides whether it stays.
    args.retain(|a| a != SKIP_PERMISSIONS);
    args.extend(["--output-format", "stream-json", "--verbose"].map(String::from));
    let spec = ShimSpec {
        claude: real_claude(child_env),
        args,
        drop_skip_permissions: !child.skip_permissions,
        cli_name: child_env
            .get(CLI_NAME_ENV)
            .cloned()
            .or_else(|| std::env::var(CLI_NAME_ENV).ok()),
        refuse_home: !child.skip_permissions,
        agent_tools: agent_tools.map(Path::to_path_buf),
    };
    let spec = serde_json::to_string(&spec).map_err(|e| e.to_string())?;
    Ok(vec![
        (CLI_NAME_ENV.to_string(), shim.display().to_string()),
        (SHIM_ENV.to_string(), spec),
    ])
}

/// Whether a child environment runs `claude` through the shim (its answers
/// are then stream-json).
pub fn uses_shim(env: &[(String, String)]) -> bool {
    env.iter().any(|(k, _)| k == SHIM_ENV)
}
