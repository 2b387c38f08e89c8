//! The operator CLI: `modules ...`, `register-module`, `config show`.

use std::process::{Command, Output};

use serde_json::Value;

fn run(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "embedded")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("claude-comms runs")
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

const SUMMARIZER: &str = r#"
name: summarizer
version: 0.1.0
description: Summarises Markdown documents.
path: /tmp/summarizer
capabilities:
  - name: summarize
    description: Summarise a document
    inputs: [markdown_document]
    outputs: [summary]
data_types:
  - name: markdown_document
    description: Markdown
  - name: summary
    description: A short summary
relationships:
  - module: marker
    kind: consumes_from
    description: reads marker output
"#;

#[test]
fn list_show_register_remove() {
    let home = tempfile::tempdir().unwrap();
    let listed = stdout_json(&run(home.path(), &["modules", "list", "--json"]));
    assert_eq!(listed["modules"].as_array().unwrap().len(), 3);

    let table = run(home.path(), &["modules", "list"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("marker"));

    let file = home.path().join("summarizer.yaml");
    std::fs::write(&file, SUMMARIZER).unwrap();
    let registered = stdout_json(&run(
        home.path(),
        &["register-module", file.to_str().unwrap(), "--json"],
    ));
    assert_eq!(registered["name"], "summarizer");

    let shown = stdout_json(&run(
        home.path(),
        &["modules", "show", "summarizer", "--json"],
    ));
    assert_eq!(shown["descriptor"]["capabilities"][0]["name"], "summarize");
    assert_eq!(shown["origin"], "user");
    assert_eq!(shown["folder"], "/tmp/summarizer");

    let consumers = stdout_json(&run(
        home.path(),
        &["modules", "consumers", "marker", "--json"],
    ));
    assert_eq!(consumers["consumers"].as_array().unwrap().len(), 2);

    let removed = run(home.path(), &["modules", "remove", "summarizer"]);
    assert!(removed.status.success());
    let gone = run(home.path(), &["modules", "show", "summarizer"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("unknown module \"summarizer\""));

    let builtin = run(home.path(), &["modules", "remove", "marker"]);
    assert_eq!(builtin.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&builtin.stderr).contains("shipped with claude-comms"));
}

#[test]
fn validate_names_file_field_and_value() {
    let home = tempfile::tempdir().unwrap();
    let bad = home.path().join("x.yaml");
    std::fs::write(
        &bad,
        SUMMARIZER.replace("outputs: [summary]", "outputs: [pdf_blob]"),
    )
    .unwrap();
    let good = home.path().join("good.yaml");
    std::fs::write(&good, SUMMARIZER).unwrap();
    let out = run(
        home.path(),
        &[
            "modules",
            "validate",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("ok    {}", good.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}: capabilities[0].outputs[0]: unknown data type \"pdf_blob\"",
            bad.display()
        )),
        "{text}"
    );
    // The shipped descriptors validate.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/descriptors/marker.yaml");
    assert!(
        run(home.path(), &["modules", "validate", shipped])
            .status
            .success()
    );
}

#[test]
fn config_show_names_sources_and_rejects_unknown_keys() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "database = \"postgres://u:pw-very-secret@h/db\"\n[context]\nhop_limit = 2\ntoken_budget = 30000\n[instances.claude_code_mcp.env]\nANTHROPIC_API_KEY = \"sk-very-secret\"\nGITHUB_PAT = \"ghp-very-secret\"\n",
    )
    .unwrap();
    let out = run(home.path(), &["config", "show", "--json"]);
    for secret in ["sk-very-secret", "ghp-very-secret", "pw-very-secret"] {
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(secret),
            "secrets are never printed: {secret}"
        );
    }
    let shown = stdout_json(&out);
    let values = shown["values"].as_array().unwrap();
    let hop = values
        .iter()
        .find(|v| v["key"] == "context.hop_limit")
        .unwrap();
    assert_eq!(hop["value"], 2);
    let budget = values
        .iter()
        .find(|v| v["key"] == "context.token_budget")
        .unwrap();
    assert_eq!(budget["value"], 30000, "plain settings are never hidden");
    assert!(hop["source"].as_str().unwrap().starts_with("file "));

    std::fs::write(home.path().join("config.toml"), "colour = \"red\"\n").unwrap();
    let out = run(home.path(), &["config", "show"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("colour") && err.contains("config.toml"),
        "{err}"
    );
}
