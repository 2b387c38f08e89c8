//! The exec shim: run by claude-code-mcp as its `claude`, claude-comms
//! becomes the real program with the policy's arguments, without
//! `--dangerously-skip-permissions` and without leaving its own variables
//! behind; it refuses to run in the home folder (claude-code-mcp's fallback
//! when a module's folder is missing).

use std::path::Path;
use std::process::{Command, Output};

use claude_comms::policy::shim::{SHIM_ENV, ShimSpec};

fn run_shim(spec: &ShimSpec, cwd: &Path, home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(["--dangerously-skip-permissions", "-p", "the prompt"])
        .current_dir(cwd)
        .env("HOME", home)
        .env("CLAUDE_CLI_NAME", env!("CARGO_BIN_EXE_claude-comms"))
        .env(SHIM_ENV, serde_json::to_string(spec).unwrap())
        .output()
        .unwrap()
}

fn spec(program: &str) -> ShimSpec {
    ShimSpec {
        claude: program.into(),
        args: vec!["--settings".into(), "/data/policies/x.json".into()],
        drop_skip_permissions: true,
        cli_name: Some("claude".into()),
        refuse_home: true,
        agent_tools: None,
    }
}

#[test]
fn the_shim_becomes_the_real_claude_with_the_policys_arguments() {
    let (work, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // `echo` shows the arguments it got.
    let out = run_shim(&spec("echo"), work.path(), home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "-p the prompt --settings /data/policies/x.json"
    );
    // A stand-in that prints its environment: the shim's spec is gone and
    // CLAUDE_CLI_NAME is what it was before it pointed at the shim.
    let printer = work.path().join("print-env");
    std::fs::write(&printer, "#!/bin/sh\nexec env\n").unwrap();
    std::fs::set_permissions(
        &printer,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = run_shim(&spec(printer.to_str().unwrap()), work.path(), home.path());
    let env = String::from_utf8_lossy(&out.stdout);
    assert!(!env.contains(SHIM_ENV), "{env}");
    assert!(env.lines().any(|l| l == "CLAUDE_CLI_NAME=claude"), "{env}");
}

#[test]
fn the_shim_keeps_skip_permissions_for_full_and_refuses_the_home_folder() {
    let (work, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let full = ShimSpec {
        drop_skip_permissions: false,
        refuse_home: false,
        ..spec("echo")
    };
    let out = run_shim(&full, work.path(), home.path());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("--dangerously-skip-permissions -p"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = run_shim(&spec("echo"), home.path(), home.path());
    assert_eq!(out.status.code(), Some(126));
    assert!(out.stdout.is_empty(), "nothing ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to run the agent in the home folder"),
        "{stderr}"
    );

    let out = run_shim(&spec("/nonexistent/claude"), work.path(), home.path());
    assert_eq!(out.status.code(), Some(126));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot run /nonexistent/claude"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
