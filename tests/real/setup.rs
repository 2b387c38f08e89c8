//! Install and first use as a new user meets them: a real `claude-comms
//! setup` installs the real claude-code-mcp from the npm registry into the
//! data dir, and the first answer after it downloads nothing. Also the
//! Claude Desktop bundle's manifest, checked by the official `mcpb` tool.

use crate::common;
use crate::model_stub::ModelStub;
use crate::real_children::RealChildren;

use std::path::Path;
use std::time::Instant;

fn text_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "end-to-end: needs scripts/install-real-children.sh and the npm registry"]
async fn a_real_setup_installs_the_child_and_the_first_answer_downloads_nothing() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let user_home = tempfile::tempdir().unwrap();
    // The default child command (npx), with only what points the CLI at
    // the stand-in model: what a fresh machine's config amounts to.
    let env = model
        .cli_env(user_home.path())
        .into_iter()
        .chain([(
            "CLAUDE_CLI_NAME".to_string(),
            real.claude.display().to_string(),
        )])
        .map(|(k, v)| format!("{k} = {v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let home = common::home_with(&format!("[instances.claude_code_mcp]\nenv = {{ {env} }}\n"));
    let cli = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_claude-comms"));
        command
            .args(args)
            .env("CLAUDE_COMMS_HOME", home.path())
            .env("CLAUDE_COMMS_HUB", "embedded")
            // npm's cache and npx's live under HOME: a fresh one has neither.
            .env("HOME", user_home.path())
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env_remove("CLAUDE_COMMS_MODULE")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        command
    };

    let started = Instant::now();
    let out = cli(&["setup"]).output().await.unwrap();
    let text = text_of(&out);
    assert!(out.status.success(), "{text}");
    eprintln!(
        "setup took {:.1} s:\n{text}",
        started.elapsed().as_secs_f64()
    );
    let executable = home
        .path()
        .join("children/node_modules/.bin/claude-code-mcp");
    assert!(executable.is_file(), "{text}");
    assert!(
        text.contains("[done] claude-code-mcp: installed @steipete/claude-code-mcp@1.10.12"),
        "{text}"
    );
    assert!(text.contains("[done] config:"), "{text}");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(home.path().join("config.toml")).unwrap()).unwrap();
    assert_eq!(
        config["instances"]["claude_code_mcp"]["command"].as_str(),
        executable.to_str()
    );
    assert!(
        config["instances"]["claude_code_mcp"]["env"]["CLAUDE_CLI_NAME"].is_str(),
        "setup kept the child's other settings"
    );

    let out = cli(&["setup", "--check"]).output().await.unwrap();
    assert!(
        out.status.success(),
        "a second look finds nothing to do: {}",
        text_of(&out)
    );

    let started = Instant::now();
    let out = cli(&[
        "send", "--from", "marker", "--to", "arangodb", "first", "question",
    ])
    .output()
    .await
    .unwrap();
    let first = started.elapsed();
    let text = text_of(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("stub model answer to:"),
        "the stand-in answered: {text}"
    );
    // Timing is for the log, not a verdict: the first answer should take
    // as long as a later one (no download in it).
    let started = Instant::now();
    let out = cli(&[
        "send", "--from", "marker", "--to", "arangodb", "second", "question",
    ])
    .output()
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text_of(&out));
    eprintln!(
        "after setup: first answer {:.2} s, a later one {:.2} s",
        first.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        !user_home.path().join(".npm/_npx").exists(),
        "npx ran (and would have downloaded) for the first answer"
    );
}

#[test]
#[ignore = "end-to-end: needs scripts/install-real-children.sh (the mcpb tool)"]
fn the_official_mcpb_tool_accepts_the_bundle_manifest() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let mcpb = real.claude.with_file_name("mcpb");
    assert!(
        mcpb.exists(),
        "{} is missing: run scripts/install-real-children.sh",
        mcpb.display()
    );
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/mcpb/manifest.json");
    let out = std::process::Command::new(&mcpb)
        .arg("validate")
        .arg(&manifest)
        .output()
        .unwrap();
    let text = text_of(&out);
    assert!(
        out.status.success(),
        "mcpb validate {}: {text}",
        manifest.display()
    );
    assert!(text.contains("validation passes"), "{text}");
}
