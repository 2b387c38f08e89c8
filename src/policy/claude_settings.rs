//! A module policy as Claude Code understands it: a settings file of our own
//! and the command-line arguments that make the CLI obey only that file.
//!
//! Checked with the real CLI (2.1.197 and 2.1.331, offline against the stand-in model):
//! * `--setting-sources ""` loads no user, project or local settings, so an
//!   `allow` rule in `~/.claude/settings.json` or in a module's
//!   `.claude/settings.json` cannot widen the policy. The login is not a
//!   setting and is still found.
//! * `defaultMode: "dontAsk"` refuses every tool use that no `allow` rule
//!   covers; `disableBypassPermissionsMode: "disable"` keeps it so even when
//!   `--dangerously-skip-permissions` is given.
//! * Rules written `Read(./**)` are relative to the working folder (the
//!   module's folder on both backends), so one settings file serves every
//!   module that has the default policy. Symbolic links and `..` are
//!   resolved before the check: a link inside the folder to a file outside
//!   is refused.
//! * `Edit(...)` rules cover Write and NotebookEdit too; a rule without a
//!   specifier in `deny` removes the tool ("No such tool available").
//! * Glob is left out of the tool set: Claude Code checks its `path`
//!   argument but not a pattern that is itself absolute (`/etc/*`), so Glob
//!   would list file names anywhere. Grep lists files inside the folder.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::Digest;

use super::{Mode, ModulePolicy};

/// Tools every restricted agent has: reading and searching.
const READ_TOOLS: [&str; 2] = ["Read", "Grep"];
/// Tools an `edit` agent adds.
const EDIT_TOOLS: [&str; 3] = ["Write", "Edit", "NotebookEdit"];
/// Removed outright in `read-only` (deny rules without a specifier).
const READ_ONLY_DENY: [&str; 3] = ["Write", "Edit", "NotebookEdit"];
/// Removed in every restricted mode.
const WEB_DENY: [&str; 2] = ["WebFetch", "WebSearch"];

/// What a `claude` needs to run under a policy, on either backend.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildPolicy {
    /// The settings file's content, or `None` when there is nothing to add
    /// (`full` without rules: today's behaviour).
    pub settings: Option<Value>,
    /// Arguments besides `--settings FILE`.
    pub args: Vec<String>,
    /// Whether the agent keeps `--dangerously-skip-permissions` (`full`).
    pub skip_permissions: bool,
}

/// Claude Code's spelling of an absolute folder in a rule: `//abs/path/**`.
fn folder_rule(tool: &str, dir: &str) -> String {
    let dir = dir.trim_end_matches('/');
    format!("{tool}(/{dir}/**)")
}

/// The settings and arguments for `policy`.
pub fn child_policy(policy: &ModulePolicy) -> ChildPolicy {
    if policy.mode == Mode::Full {
        // Today's behaviour, plus whatever the operator still wants denied
        // (deny rules hold even with --dangerously-skip-permissions).
        let settings = (!policy.allow.is_empty() || !policy.deny.is_empty())
            .then(|| json!({"permissions": {"allow": policy.allow, "deny": policy.deny}}));
        return ChildPolicy {
            settings,
            args: Vec::new(),
            skip_permissions: true,
        };
    }
    let shell = policy.allows_some_shell();
    let mut allow = vec!["Read(./**)".to_string()];
    allow.extend(policy.add_dirs.iter().map(|d| folder_rule("Read", d)));
    let mut tools: Vec<String> = READ_TOOLS.map(String::from).to_vec();
    let mut deny: Vec<String> = Vec::new();
    match policy.mode {
        Mode::Edit => {
            allow.push("Edit(./**)".into());
            tools.extend(EDIT_TOOLS.map(String::from));
        }
        _ => deny.extend(READ_ONLY_DENY.map(String::from)),
    }
    deny.extend(WEB_DENY.map(String::from));
    if !shell {
        deny.push("Bash".into());
    }
    allow.extend(policy.allow.iter().cloned());
    deny.extend(policy.deny.iter().cloned());
    // A built-in tool named by an allow rule joins the tool set (MCP tools
    // are not built in and are governed by the rules alone).
    for rule in &policy.allow {
        let tool = rule.split('(').next().unwrap_or(rule);
        if !tool.starts_with("mcp__") && !tools.iter().any(|t| t == tool) {
            tools.push(tool.to_string());
        }
    }
    let settings = json!({
        "permissions": {
            "allow": allow,
            "deny": deny,
            "defaultMode": "dontAsk",
            "disableBypassPermissionsMode": "disable",
        }
    });
    ChildPolicy {
        settings: Some(settings),
        args: vec![
            "--setting-sources".into(),
            String::new(),
            "--permission-mode".into(),
            "dontAsk".into(),
            "--tools".into(),
            tools.join(","),
        ],
        skip_permissions: false,
    }
}

/// Where settings files live: `<data dir>/policies/<hash>.json`, named by
/// their content so that every process writes the same file for the same
/// policy and a child never sees a file change under it.
#[derive(Debug, Clone)]
pub struct PolicyFiles {
    dir: PathBuf,
}

impl PolicyFiles {
    pub fn new(data_dir: &Path) -> PolicyFiles {
        PolicyFiles {
            dir: data_dir.join("policies"),
        }
    }

    /// Writes `settings` (atomically, once) and returns its path.
    pub fn write(&self, settings: &Value) -> std::io::Result<PathBuf> {
        let text = serde_json::to_string_pretty(settings)?;
        let digest = sha2::Sha256::digest(text.as_bytes());
        let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(format!("{name}.json"));
        if path.is_file() {
            return Ok(path);
        }
        std::fs::create_dir_all(&self.dir)?;
        let temp = self.dir.join(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&temp, text)?;
        // A rename within one folder is atomic: a reader sees no file or all of it.
        std::fs::rename(&temp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })?;
        Ok(path)
    }

    /// The full argument list for `policy`: [`child_policy`]'s arguments,
    /// `--settings FILE` when there are settings, and
    /// `--dangerously-skip-permissions` for `full`.
    pub fn claude_args(&self, policy: &ModulePolicy) -> std::io::Result<Vec<String>> {
        let child = child_policy(policy);
        let mut args = child.args;
        if let Some(settings) = &child.settings {
            let path = self.write(settings)?;
            args.extend(["--settings".into(), path.display().to_string()]);
        }
        if child.skip_permissions {
            args.push("--dangerously-skip-permissions".into());
        }
        Ok(args)
    }
}
