//! `claude-comms doctor`: says what is wrong and how to fix it.

use crate::common;

use std::process::Command;

fn doctor(home: &std::path::Path, args: &[&str]) -> (i32, String) {
    doctor_with(home, args, &[])
}

/// Runs doctor with a throw-away HOME (never the user's own credentials)
/// and no credentials in the environment, plus `env`.
fn doctor_with(home: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let user_home = home.join("user-home");
    std::fs::create_dir_all(&user_home).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_claude-comms"));
    command
        .arg("doctor")
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "embedded")
        .env("HOME", &user_home)
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_CLI_NAME")
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env_remove("CLAUDE_CODE_OAUTH_TOKEN")
        .env_remove("IS_SANDBOX");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn a_working_setup_passes_and_a_broken_one_is_explained() {
    let claude = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/real-children/node_modules/.bin/claude");
    let claude = if claude.exists() {
        claude.display().to_string()
    } else {
        "/bin/true".to_string()
    };
    let good = common::home_with(&format!(
        "{}env = {{ CLAUDE_CLI_NAME = {claude:?} }}\n",
        common::fake_child_toml()
    ));
    let (code, text) = doctor(good.path(), &[]);
    assert!(text.contains("[ok  ] child start"), "{text}");
    assert!(text.contains("[ok  ] database"), "{text}");
    assert!(text.contains("[ok  ] data dir"), "{text}");
    if which("node") {
        assert_eq!(code, 0, "{text}");
    }

    let bad = common::home_with(
        "[instances.claude_code_mcp]\ncommand = \"/nonexistent/claude-code-mcp\"\nenv = { CLAUDE_CLI_NAME = \"/nonexistent/claude\" }\n",
    );
    let (code, text) = doctor(bad.path(), &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(
            "[FAIL] child command: `/nonexistent/claude-code-mcp` (instances.claude_code_mcp.command) does not exist"
        ),
        "{text}"
    );
    assert!(
        text.contains("fix: install it or fix instances.claude_code_mcp.command"),
        "{text}"
    );
    assert!(
        text.contains("[FAIL] claude CLI: `/nonexistent/claude` does not exist"),
        "{text}"
    );
    assert!(text.contains("[FAIL] child start"), "{text}");
}

fn which(program: &str) -> bool {
    claude_comms::hub::find_program(program).is_some()
}

#[test]
fn a_login_needs_a_key_or_a_token_not_just_a_settings_file() {
    let home = common::home_with(&common::fake_child_toml());
    let user_home = home.path().join("user-home");
    std::fs::create_dir_all(user_home.join(".claude")).unwrap();
    // Settings alone (what `claude` writes before any login) are no login.
    std::fs::write(user_home.join(".claude.json"), r#"{"numStartups": 1}"#).unwrap();
    std::fs::write(
        user_home.join(".claude/.credentials.json"),
        r#"{"claudeAiOauth": {"accessToken": ""}}"#,
    )
    .unwrap();
    let (_, text) = doctor_with(home.path(), &["--no-start"], &[]);
    assert!(
        text.contains("[warn] claude login: no ANTHROPIC_API_KEY"),
        "{text}"
    );

    std::fs::write(
        user_home.join(".claude/.credentials.json"),
        r#"{"claudeAiOauth": {"accessToken": "sk-ant-oat01-x", "expiresAt": 1}}"#,
    )
    .unwrap();
    let (_, text) = doctor_with(home.path(), &["--no-start"], &[]);
    assert!(
        text.contains("[ok  ] claude login: ") && text.contains(".credentials.json holds a token"),
        "{text}"
    );
    assert!(
        !text.contains("sk-ant-oat01-x"),
        "the token itself is never printed: {text}"
    );

    std::fs::remove_file(user_home.join(".claude/.credentials.json")).unwrap();
    let (_, text) = doctor_with(
        home.path(),
        &["--no-start"],
        &[("ANTHROPIC_API_KEY", "sk-test")],
    );
    assert!(
        text.contains("[ok  ] claude login: ANTHROPIC_API_KEY is set"),
        "{text}"
    );
}

#[test]
fn running_as_root_without_is_sandbox_is_reported() {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let home = common::home_with(&common::fake_child_toml());
    let (_, text) = doctor_with(home.path(), &["--no-start"], &[]);
    if root {
        assert!(
            text.contains("[warn] user: running as root without IS_SANDBOX=1"),
            "{text}"
        );
        let (_, text) = doctor_with(home.path(), &["--no-start"], &[("IS_SANDBOX", "1")]);
        assert!(
            text.contains("[ok  ] user: root, with IS_SANDBOX=1"),
            "{text}"
        );
    } else {
        assert!(!text.contains("] user:"), "{text}");
    }
}

#[test]
fn a_child_that_fails_to_start_is_quoted() {
    let home = common::home_with(&format!(
        "{}env = {{ FAKE_CHILD_EXIT_AT_START = \"1\" }}\n",
        common::fake_child_toml()
    ));
    let (code, text) = doctor(home.path(), &[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("[FAIL] child start"), "{text}");
    assert!(
        text.contains("the child's stderr:") && text.contains("fake child: told to exit at start"),
        "{text}"
    );
}

#[test]
fn a_child_that_npx_would_download_is_not_started_unless_asked() {
    // The default child command is npx.
    let home = common::home_with("");
    let (_, text) = doctor(home.path(), &[]);
    assert!(
        text.contains("[warn] child start: not tried: the child command is `npx`, which may download the package first"),
        "{text}"
    );
    assert!(text.contains("doctor --start"), "{text}");
}
