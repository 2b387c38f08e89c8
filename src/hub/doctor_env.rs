//! What doctor reads off the machine: programs on PATH, the `claude` CLI's
//! login, running as root, the daemon's build.

use std::path::{Path, PathBuf};

use super::doctor_check::{Check, CheckStatus, PROBE_TIMEOUT};
use crate::config::Config;

/// Whether a child command fetches its package when it starts (`npx -y
/// PKG` and its kin): the first answer then waits for a download.
pub(crate) fn downloads_on_start(command: &str) -> bool {
    Path::new(command)
        .file_name()
        .is_some_and(|name| name == "npx" || name == "bunx" || name == "pnpx")
}

/// The environment a child gets from the config, over this process's.
pub(crate) fn child_env(config: &Config) -> impl Fn(&str) -> Option<String> + '_ {
    let instances = &config.instances;
    move |key: &str| {
        instances
            .claude_code_mcp
            .env
            .get(key)
            .or_else(|| instances.claude_stream.env.get(key))
            .cloned()
            .or_else(|| std::env::var(key).ok())
            .filter(|v| !v.is_empty())
    }
}

/// The `claude` CLI the children run: found, and answering `--version`.
pub(crate) async fn cli_check(config: &Config) -> Check {
    let cli_name = config
        .instances
        .claude_code_mcp
        .env
        .get("CLAUDE_CLI_NAME")
        .cloned()
        .or_else(|| std::env::var("CLAUDE_CLI_NAME").ok())
        .unwrap_or_else(|| config.instances.claude_stream.command.clone());
    match find_program(&cli_name) {
        Some(path) => match probe(&path, &["--version"]).await {
            Ok(v) => Check::new(
                "claude CLI",
                CheckStatus::Ok,
                format!("{} ({v})", path.display()),
                "",
            ),
            Err(e) => Check::new(
                "claude CLI",
                CheckStatus::Failed,
                e,
                "reinstall it: npm install -g @anthropic-ai/claude-code",
            ),
        },
        None => Check::new(
            "claude CLI",
            CheckStatus::Failed,
            format!("`{cli_name}` {}", not_found(&cli_name)),
            "install it (npm install -g @anthropic-ai/claude-code) or set CLAUDE_CLI_NAME / instances.claude_stream.command to its absolute path",
        ),
    }
}

/// Why a program was not found: a path that is not there, or a bare name
/// missing from PATH.
pub(super) fn not_found(name: &str) -> &'static str {
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
pub(crate) fn login_check(env: &impl Fn(&str) -> Option<String>) -> Check {
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
pub(super) fn has_token(text: &str) -> bool {
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
pub(super) fn root_check(env: &impl Fn(&str) -> Option<String>) -> Option<Check> {
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

pub(super) fn home() -> Option<PathBuf> {
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

pub(crate) async fn probe(program: &Path, args: &[&str]) -> Result<String, String> {
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

/// The data dir's running daemon (under a `hub` policy that uses one): a
/// warning, with the fix, when it is another version or build than this
/// program, which would otherwise go on using it after an upgrade.
pub(super) fn daemon_check(config: &crate::config::LoadedConfig) -> Option<Check> {
    use crate::config::daemon::HubPolicy;
    use crate::daemon_link::{DaemonInfo, DaemonPaths, build, lock::DaemonLock};
    if HubPolicy::parse(&config.config.hub).ok()? == HubPolicy::Embedded {
        return None;
    }
    let paths = DaemonPaths::of(config);
    if !DaemonLock::is_held(&paths) {
        return None;
    }
    let info = DaemonInfo::read(&paths.state)?;
    Some(if build::is_other_build(&info) {
        Check::new(
            "daemon",
            CheckStatus::Warning,
            build::describe(&info),
            build::fix(&info),
        )
    } else {
        Check::new(
            "daemon",
            CheckStatus::Ok,
            format!(
                "pid {}, version {} build {} (this program's)",
                info.pid, info.version, info.build
            ),
            "",
        )
    })
}
