//! `claude-comms setup`: makes a fresh machine ready for its first answer.
//! It installs the pinned claude-code-mcp into the data dir (so no answer
//! waits for `npx` to download it), points the config's child command at it,
//! and checks the `claude` CLI and its login as `doctor` does. Each step
//! first looks at what is there, so running it again changes nothing; with
//! `check` it only reports.

mod config_edit;
pub mod npm;

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{CHILD_PACKAGE, CHILD_VERSION, LoadedConfig};
use crate::hub::doctor_env;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("config file {file}: {message}")]
    Config { file: String, message: String },
    #[error("cannot write {file}: {source}")]
    Write {
        file: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed: {message}")]
    Npm { command: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Already as it should be; nothing done.
    Ok,
    /// Changed by this run.
    Done,
    /// Would be changed (`--check`).
    Needed,
    Warning,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub name: String,
    pub status: StepStatus,
    pub detail: String,
    /// What to do about it (empty when nothing is needed).
    pub fix: String,
}

impl Step {
    fn new(
        name: &str,
        status: StepStatus,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Step {
        Step {
            name: name.into(),
            status,
            detail: detail.into(),
            fix: fix.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SetupOptions {
    /// Only report what would be done.
    pub check: bool,
    /// Replace a child command the user set to something other than `npx`.
    pub force: bool,
}

/// Runs every step and says what each found or did. A failed step does not
/// stop the ones after it that do not depend on it.
pub async fn run(config: &LoadedConfig, options: SetupOptions) -> Vec<Step> {
    let data_dir = &config.paths.data_dir;
    let mut steps = vec![install_step(data_dir, options).await];
    let installed = matches!(steps[0].status, StepStatus::Ok | StepStatus::Done);
    steps.push(config_step(config, options, installed));
    steps.extend(claude_steps(config).await);
    steps
}

async fn install_step(data_dir: &Path, options: SetupOptions) -> Step {
    const NAME: &str = "claude-code-mcp";
    let target = npm::children_dir(data_dir);
    if npm::is_installed(data_dir) {
        return Step::new(
            NAME,
            StepStatus::Ok,
            format!("{CHILD_VERSION} is installed in {}", target.display()),
            "",
        );
    }
    let Some(npm_path) = doctor_env::find_program("npm") else {
        return Step::new(
            NAME,
            StepStatus::Failed,
            "npm is not on PATH",
            "install Node.js 20 or later (npm comes with it), then run `claude-comms setup` again",
        );
    };
    let command = format!(
        "{} {}",
        npm_path.display(),
        npm::install_args(data_dir).join(" ")
    );
    if options.check {
        let found = npm::installed_version(data_dir).map_or("not installed".to_string(), |v| {
            format!("version {v} installed")
        });
        return Step::new(
            NAME,
            StepStatus::Needed,
            format!(
                "{CHILD_PACKAGE}@{CHILD_VERSION}: {found} in {}",
                target.display()
            ),
            format!("`claude-comms setup` runs `{command}`"),
        );
    }
    match npm::install(&npm_path, data_dir).await {
        Ok(()) => Step::new(
            NAME,
            StepStatus::Done,
            format!(
                "installed {CHILD_PACKAGE}@{CHILD_VERSION} into {} (ran `{command}`)",
                target.display()
            ),
            "",
        ),
        Err(e) => Step::new(
            NAME,
            StepStatus::Failed,
            e.to_string(),
            "check network access to the npm registry (npm's own settings apply: registry, proxy), then run `claude-comms setup` again",
        ),
    }
}

fn config_step(config: &LoadedConfig, options: SetupOptions, installed: bool) -> Step {
    const NAME: &str = "config";
    let file = &config.paths.config_file;
    let executable = npm::child_executable(&config.paths.data_dir);
    let Some(command) = executable.to_str() else {
        return Step::new(
            NAME,
            StepStatus::Failed,
            format!(
                "the data dir {} is not valid UTF-8, so TOML cannot name it",
                config.paths.data_dir.display()
            ),
            "set CLAUDE_COMMS_HOME to a folder whose path is UTF-8",
        );
    };
    let child = &config.config.instances.claude_code_mcp;
    let key = "instances.claude_code_mcp.command";
    if child.command == command && child.args.is_empty() {
        return Step::new(
            NAME,
            StepStatus::Ok,
            format!("{key} is {command} in {}", file.display()),
            "",
        );
    }
    if !doctor_env::downloads_on_start(&child.command) && !options.force {
        return Step::new(
            NAME,
            StepStatus::Warning,
            format!("{key} is `{}`, set by you; left alone", child.command),
            format!("`claude-comms setup --force` replaces it with {command}"),
        );
    }
    if !installed {
        return Step::new(
            NAME,
            StepStatus::Needed,
            format!(
                "{key} stays `{}` until claude-code-mcp is installed",
                child.command
            ),
            "fix the step above, then run `claude-comms setup` again",
        );
    }
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Step::new(
                NAME,
                StepStatus::Failed,
                format!("cannot read {}: {e}", file.display()),
                "",
            );
        }
    };
    let edited = match config_edit::with_child_command(file, &text, command, &[]) {
        Ok(Some(edited)) => edited,
        // The file already names the installed child.
        Ok(None) => {
            return Step::new(
                NAME,
                StepStatus::Ok,
                format!("{key} is {command} in {}", file.display()),
                "",
            );
        }
        Err(e) => {
            return Step::new(
                NAME,
                StepStatus::Failed,
                e.to_string(),
                "fix the file, then run `claude-comms setup` again",
            );
        }
    };
    let change = format!(
        "{key} = {command:?}, args = [] (was `{} {}`)",
        child.command,
        child.args.join(" ")
    );
    if options.check {
        return Step::new(
            NAME,
            StepStatus::Needed,
            format!("{} would get {change}", file.display()),
            "run `claude-comms setup`",
        );
    }
    match config_edit::write_atomically(file, &edited) {
        Ok(()) => Step::new(
            NAME,
            StepStatus::Done,
            format!(
                "wrote {change} to {}; every other setting is as it was (a running daemon uses it after `claude-comms daemon stop`)",
                file.display()
            ),
            "",
        ),
        Err(e) => Step::new(
            NAME,
            StepStatus::Failed,
            e.to_string(),
            "make the file writable, or name another with --config",
        ),
    }
}

/// The `claude` CLI the children will run, and its login: doctor's checks.
async fn claude_steps(config: &LoadedConfig) -> Vec<Step> {
    let env = doctor_env::child_env(&config.config);
    let cli = doctor_env::cli_check(&config.config).await;
    let login = doctor_env::login_check(&env);
    [cli, login]
        .into_iter()
        .map(|check| {
            let status = match check.status {
                crate::hub::CheckStatus::Ok => StepStatus::Ok,
                crate::hub::CheckStatus::Warning => StepStatus::Warning,
                crate::hub::CheckStatus::Failed => StepStatus::Failed,
            };
            Step::new(&check.name, status, check.detail, check.fix)
        })
        .collect()
}
