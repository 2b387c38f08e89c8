use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use serde_json::json;

use super::claude_settings::child_policy;
use super::shim::{ShimSpec, mcp_child_env, shim_args};
use super::tool_use::{parse_stream_output, refused_summary};
use super::*;

fn config(toml_text: &str) -> PermissionsConfig {
    toml::from_str(toml_text).unwrap()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_default_is_read_only_for_every_module() {
    let policy = PermissionsConfig::default().policy_for("anything");
    assert_eq!(policy.mode, Mode::ReadOnly);
    assert_eq!(policy.from, "permissions.default");
}

#[test]
fn read_only_reads_inside_the_folder_and_removes_writes_shell_and_web() {
    let child = child_policy(&PermissionsConfig::default().policy_for("m"));
    let settings = child.settings.unwrap();
    let perms = &settings["permissions"];
    assert_eq!(strings(&perms["allow"]), ["Read(./**)"]);
    let deny = strings(&perms["deny"]);
    for tool in [
        "Write",
        "Edit",
        "NotebookEdit",
        "Bash",
        "WebFetch",
        "WebSearch",
    ] {
        assert!(deny.contains(&tool.to_string()), "{tool} in {deny:?}");
    }
    assert_eq!(perms["defaultMode"], "dontAsk");
    assert_eq!(perms["disableBypassPermissionsMode"], "disable");
    assert!(!child.skip_permissions);
    // No user or project settings can widen it; Glob is not in the tool set.
    assert_eq!(
        child.args,
        [
            "--setting-sources",
            "",
            "--permission-mode",
            "dontAsk",
            "--tools",
            "Read,Grep"
        ]
    );
}

#[test]
fn edit_allows_edits_inside_the_folder_and_shell_only_for_allowed_commands() {
    let cfg = config(
        "[modules]\nm = \"edit\"\n[rules.m]\nallow = [\"Bash(cargo test:*)\"]\ndeny = [\"Read(./secrets/**)\"]\nadd_dirs = [\"/srv/schemas/\"]\n",
    );
    let child = child_policy(&cfg.policy_for("m"));
    let perms = &child.settings.unwrap()["permissions"];
    assert_eq!(
        strings(&perms["allow"]),
        [
            "Read(./**)",
            "Read(//srv/schemas/**)",
            "Edit(./**)",
            "Bash(cargo test:*)"
        ]
    );
    let deny = strings(&perms["deny"]);
    assert!(
        !deny.contains(&"Bash".to_string()),
        "shell is allowed for some commands"
    );
    assert!(!deny.contains(&"Write".to_string()));
    assert!(deny.contains(&"Read(./secrets/**)".to_string()));
    assert!(deny.contains(&"WebFetch".to_string()));
    assert_eq!(
        child.args.last().unwrap(),
        "Read,Grep,Write,Edit,NotebookEdit,Bash"
    );
}

#[test]
fn edit_without_allowed_commands_has_no_shell() {
    let cfg = config("[modules]\nm = \"edit\"\n");
    let perms = &child_policy(&cfg.policy_for("m")).settings.unwrap()["permissions"];
    assert!(strings(&perms["deny"]).contains(&"Bash".to_string()));
}

#[test]
fn full_is_todays_behaviour_and_keeps_the_operators_deny_rules() {
    let cfg = config("[modules]\nm = \"full\"\nn = \"full\"\n[rules.n]\ndeny = [\"Bash(rm:*)\"]\n");
    let m = child_policy(&cfg.policy_for("m"));
    assert_eq!(m.settings, None);
    assert!(m.skip_permissions && m.args.is_empty());
    let n = child_policy(&cfg.policy_for("n"));
    assert_eq!(
        n.settings.unwrap(),
        json!({"permissions": {"allow": [], "deny": ["Bash(rm:*)"]}})
    );
    assert!(cfg.policy_for("m").view().warning.unwrap().contains("full"));
    assert_eq!(cfg.policy_for("x").view().warning, None);
}

#[test]
fn bad_values_are_named_with_their_key() {
    let err = toml::from_str::<PermissionsConfig>("default = \"write\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("write") && err.contains("read-only"), "{err}");
    for (text, key, value) in [
        ("[rules.m]\nallow = [\"Bash(\"]\n", "rules.m.allow", "Bash("),
        ("[rules.m]\ndeny = [\"rm -rf\"]\n", "rules.m.deny", "rm -rf"),
        (
            "[rules.m]\nadd_dirs = [\"relative/dir\"]\n",
            "rules.m.add_dirs",
            "relative/dir",
        ),
        ("shim = \"claude-comms\"\n", "shim", "claude-comms"),
    ] {
        let err = config(text).validate().unwrap_err().to_string();
        assert!(err.contains(&format!("permissions.{key}")), "{err}");
        assert!(err.contains(value), "{err}");
    }
    config("[rules.m]\nallow = [\"mcp__claude-comms__send_message\", \"Read(//srv/**)\"]\n")
        .validate()
        .unwrap();
}

#[test]
fn policy_files_are_named_by_content_and_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let files = PolicyFiles::new(dir.path());
    let policy = PermissionsConfig::default().policy_for("m");
    let args = files.claude_args(&policy).unwrap();
    let at = args.iter().position(|a| a == "--settings").unwrap();
    let path = std::path::PathBuf::from(&args[at + 1]);
    assert!(path.starts_with(dir.path().join("policies")));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(Some(written), child_policy(&policy).settings);
    // Another module with the same policy shares the file.
    assert_eq!(
        files
            .claude_args(&PermissionsConfig::default().policy_for("n"))
            .unwrap(),
        args
    );
    let names: Vec<_> = std::fs::read_dir(dir.path().join("policies"))
        .unwrap()
        .collect();
    assert_eq!(names.len(), 1, "no temporary files left behind");
}

#[test]
fn the_shim_drops_skip_permissions_and_adds_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let files = PolicyFiles::new(dir.path());
    let mut child_env = BTreeMap::new();
    child_env.insert("CLAUDE_CLI_NAME".to_string(), "/opt/claude".to_string());
    let policy = PermissionsConfig::default().policy_for("m");
    let env = mcp_child_env(
        &policy,
        &files,
        &child_env,
        std::path::Path::new("/bin/cc"),
        None,
    )
    .unwrap();
    assert_eq!(env[0], ("CLAUDE_CLI_NAME".into(), "/bin/cc".into()));
    let spec: ShimSpec = serde_json::from_str(&env[1].1).unwrap();
    assert_eq!(spec.claude, "/opt/claude");
    assert_eq!(spec.cli_name.as_deref(), Some("/opt/claude"));
    assert!(spec.drop_skip_permissions && spec.refuse_home);
    let given = ["--dangerously-skip-permissions", "-p", "the prompt"].map(OsString::from);
    let args = shim_args(&spec, given);
    assert_eq!(
        args[..2],
        [OsString::from("-p"), OsString::from("the prompt")]
    );
    assert!(!args.iter().any(|a| a == "--dangerously-skip-permissions"));
    assert!(args.iter().any(|a| a == "--settings"));
    assert!(args.ends_with(&["--output-format", "stream-json", "--verbose"].map(OsString::from)));

    // `full` without rules: the child runs as it always did.
    let full = config("[modules]\nm = \"full\"\n").policy_for("m");
    assert!(
        mcp_child_env(
            &full,
            &files,
            &child_env,
            std::path::Path::new("/bin/cc"),
            None
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn the_shim_gives_the_agent_tools_only_to_a_question_the_hub_wrote_a_config_for() {
    let dir = tempfile::tempdir().unwrap();
    let files = PolicyFiles::new(dir.path());
    let tools = dir.path().join("agent-tools");
    std::fs::create_dir_all(&tools).unwrap();
    let child_env = BTreeMap::new();
    // Even `full` without rules goes through the shim to get them.
    let full = config("[modules]\nm = \"full\"\n").policy_for("m");
    let env = mcp_child_env(
        &full,
        &files,
        &child_env,
        Path::new("/bin/cc"),
        Some(&tools),
    )
    .unwrap();
    let spec: ShimSpec = serde_json::from_str(&env[1].1).unwrap();
    assert_eq!(spec.agent_tools.as_deref(), Some(tools.as_path()));
    assert!(!spec.drop_skip_permissions);

    let config_file = agent_tools::config_for_prompt(&tools, "the prompt");
    std::fs::write(&config_file, "{}").unwrap();
    let given = |prompt: &str| ["--dangerously-skip-permissions", "-p", prompt].map(OsString::from);
    let args = shim_args(&spec, given("the prompt"));
    let at = args.iter().position(|a| a == "--mcp-config").unwrap();
    assert_eq!(args[at + 1], config_file.as_os_str());
    assert_eq!(args[at + 2], "--allowedTools");
    assert_eq!(args[at + 3], "mcp__comms__ask_asker,mcp__comms__ask_module");
    // Another prompt (another question) has no config: no tools.
    let other = shim_args(&spec, given("another prompt"));
    assert!(!other.iter().any(|a| a == "--mcp-config"));
}

#[test]
fn tool_uses_are_read_from_stream_json_with_their_outcome() {
    let lines = [
        json!({"type": "system", "subtype": "init", "session_id": "s1"}),
        json!({"type": "assistant", "message": {"content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/m/a.txt"}}]}}),
        json!({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": "1\tinside"}]}}),
        json!({"type": "assistant", "message": {"content": [{"type": "tool_use", "id": "t2", "name": "Bash", "input": {"command": "touch x"}}]}}),
        json!({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t2", "is_error": true, "content": "<tool_use_error>Error: No such tool available: Bash. Bash exists but is not enabled in this context.</tool_use_error>"}]}}),
        json!({"type": "assistant", "message": {"content": [{"type": "tool_use", "id": "t3", "name": "Read", "input": {"file_path": "/etc/passwd"}}]}}),
        json!({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t3", "is_error": true, "content": "Permission to use Read has been denied because Claude Code is running in don't ask mode. IMPORTANT: you may ..."}]}}),
        json!({"type": "assistant", "message": {"content": [{"type": "tool_use", "id": "t4", "name": "Read", "input": {"file_path": "/m/missing"}}]}}),
        json!({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t4", "is_error": true, "content": "File does not exist."}]}}),
        json!({"type": "result", "result": "done", "session_id": "s1", "total_cost_usd": 0.5, "permission_denials": [{"tool_use_id": "t3"}]}),
    ];
    let output: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let run = parse_stream_output(&output).unwrap();
    assert_eq!(run.text, "done");
    assert_eq!(run.session_id.as_deref(), Some("s1"));
    let seen: Vec<(String, Option<String>, ToolOutcome)> = run
        .tool_uses
        .iter()
        .map(|u| (u.tool.clone(), u.target.clone(), u.outcome))
        .collect();
    assert_eq!(
        seen,
        [
            ("Read".into(), Some("/m/a.txt".into()), ToolOutcome::Allowed),
            ("Bash".into(), Some("touch x".into()), ToolOutcome::Refused),
            (
                "Read".into(),
                Some("/etc/passwd".into()),
                ToolOutcome::Refused
            ),
            (
                "Read".into(),
                Some("/m/missing".into()),
                ToolOutcome::Failed
            ),
        ]
    );
    assert_eq!(
        run.tool_uses[2].detail.as_deref(),
        Some(
            "Permission to use Read has been denied because Claude Code is running in don't ask mode."
        )
    );
    let summary = refused_summary(&run.tool_uses).unwrap();
    assert!(
        summary.contains("2 tool use(s)") && summary.contains("Bash touch x"),
        "{summary}"
    );
    assert_eq!(parse_stream_output("just a plain answer"), None);
}
