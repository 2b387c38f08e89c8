//! `claude-comms doctor`: checks what claude-comms needs on this machine and
//! says how to fix each problem.

use std::path::Path;

use super::doctor_check::PROBE_TIMEOUT;
use super::doctor_check::{Check, CheckStatus};
use super::doctor_env::{
    cli_check, daemon_check, downloads_on_start, find_program, login_check, not_found, probe,
    root_check,
};
use crate::config::BackendKind;

impl<'h> crate::hub::Maintenance<'h> {
    /// Runs every check. `start_child` also starts a claude-code-mcp child
    /// and checks its tool (slow the first time npx downloads it).
    pub async fn doctor(self, start_child: bool) -> Vec<Check> {
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
        let setup_child = crate::config::child_executable(&self.config().paths.data_dir);
        checks.push(match find_program(&child.command) {
            Some(path) if downloads_on_start(&child.command) => Check::new(
                "child command",
                CheckStatus::Warning,
                format!(
                    "{} {}: downloads the package whenever its cache is cold, so a first answer on a fresh machine waits 10-20 s",
                    path.display(),
                    child.args.join(" ")
                ),
                "run `claude-comms setup`: it installs the pinned claude-code-mcp into the data dir and points the config at it",
            ),
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
                if Path::new(&child.command) == setup_child {
                    "run `claude-comms setup` again: it reinstalls claude-code-mcp there".to_string()
                } else if child.command == "npx" {
                    "install Node.js (npm and npx come with it), then run `claude-comms setup`: it installs claude-code-mcp and points instances.claude_code_mcp.command at it".to_string()
                } else {
                    format!("install it or fix instances.claude_code_mcp.command (now `{}`)", child.command)
                },
            ),
        });

        checks.push(cli_check(config).await);
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
        checks.push(match self.conversations().cursor().await {
            Ok(_) => Check::new("database", CheckStatus::Ok, self.config().store_shown(), ""),
            Err(e) => Check::new(
                "database",
                CheckStatus::Failed,
                e.to_string(),
                "if it says locked, another program holds a write lock: stop it, or move `database` in the config",
            ),
        });

        checks.extend(daemon_check(self.config()));

        let report = self.modules().load_report();
        checks.push(if report.errors.is_empty() {
            Check::new(
                "descriptors",
                CheckStatus::Ok,
                format!(
                    "{} module(s) loaded",
                    self.modules().list(&Default::default()).modules.len()
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
        for m in self.modules().list(&Default::default()).modules {
            if let Some(card) = self.check_a2a_agent(&m.name).await {
                // Answered by an A2A agent: its card must be readable.
                checks.push(match card {
                    Ok(detail) => {
                        Check::new(&format!("module {}", m.name), CheckStatus::Ok, detail, "")
                    }
                    Err(why) => Check::new(
                        &format!("module {}", m.name),
                        CheckStatus::Failed,
                        why,
                        format!(
                            "check a2a.url (and a2a.token_env) in the descriptor of {}",
                            m.name
                        ),
                    ),
                });
                continue;
            }
            match self.modules().folder(&m.name) {
                Ok(folder) if folder.is_dir() => {
                    if let Some(warning) = self.modules().folder_warning(&m.name) {
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
                "`claude-comms setup` installs it so that nothing is downloaded; `claude-comms doctor --start` starts one as it is (the first run may take a minute)",
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

impl<'h> crate::hub::Maintenance<'h> {
    /// The permission policies: the shim claude-code-mcp needs for them,
    /// `full` modules and deprecated settings as warnings.
    fn permission_checks(self) -> Vec<Check> {
        let config = &self.config().config;
        let known = self.modules().names();
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

impl<'h> crate::hub::Maintenance<'h> {
    /// Whether starting a claude-code-mcp child may download it first
    /// (the default `npx -y @steipete/claude-code-mcp`): then `doctor`
    /// does not start one unless asked with `--start`.
    pub fn child_start_may_download(self) -> bool {
        downloads_on_start(&self.config().config.instances.claude_code_mcp.command)
    }

    /// The environment a child gets from the config, over this process's.
    fn child_env(self) -> impl Fn(&str) -> Option<String> + 'h {
        super::doctor_env::child_env(&self.hub().config().config)
    }

    /// Starts a claude-code-mcp child and stops it again; a failure quotes
    /// the child's own stderr, which usually names the cause.
    async fn child_start_check(self, tool_name: &str) -> Check {
        let started = tokio::time::timeout(
            PROBE_TIMEOUT,
            self.instance_pool().start(
                BackendKind::ClaudeCodeMcp,
                crate::instances::ChildProfile::default(),
                None,
                None,
            ),
        )
        .await;
        // Whatever happened, no child of the check outlives it.
        let leftovers = self.instance_pool().list();
        let stderr: Vec<String> = leftovers
            .iter()
            .flat_map(|s| s.stderr_tail.iter().cloned())
            .collect();
        for status in &leftovers {
            let _ = self.instance_pool().stop(&status.instance_id).await;
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
