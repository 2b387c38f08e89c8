//! `claude-comms doctor`: says what is wrong and how to fix it.

mod common;

use std::process::Command;

fn doctor(home: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .arg("doctor")
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "embedded")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_CLI_NAME")
        .output()
        .unwrap();
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
        text.contains("[FAIL] child command: `/nonexistent/claude-code-mcp`"),
        "{text}"
    );
    assert!(
        text.contains("fix: install it or fix instances.claude_code_mcp.command"),
        "{text}"
    );
    assert!(
        text.contains("[FAIL] claude CLI: `/nonexistent/claude` is not on PATH"),
        "{text}"
    );
    assert!(text.contains("[FAIL] child start"), "{text}");
}

fn which(program: &str) -> bool {
    claude_comms::hub::find_program(program).is_some()
}
