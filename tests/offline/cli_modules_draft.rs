//! `claude-comms modules init --draft`: the module's own agent (the fake
//! child, answering with a prepared proposal) proposes capabilities, data
//! types and relationships; `--yes` writes them, without a terminal and
//! without `--yes` nothing is written, and a proposal that does not fit the
//! descriptor schema is refused, naming the problem, the drafted descriptor
//! kept.

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "embedded")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_MODULE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("claude-comms runs")
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A Rust module folder named `ranker`, and the agent's answer in a file.
fn module_and_answer(work: &Path, answer: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = work.join("ranker");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"ranker\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let file = work.join("answer.md");
    std::fs::write(&file, answer).unwrap();
    (dir, file)
}

/// `modules show ranker --json`.
fn shown(home: &Path) -> Value {
    let out = run(home, &["--json", "modules", "show", "ranker"]);
    assert!(out.status.success(), "{}", said(&out));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    shown["descriptor"].clone()
}

const PROPOSAL: &str = "I read the code. Here is the proposal:\n```yaml\ncapabilities:\n  - name: rank\n    description: Orders search hits by relevance\n    inputs: [hits]\n    outputs: [ranked_hits]\ndata_types:\n  - name: hits\n    description: Search hits\n  - name: ranked_hits\n    description: Search hits, best first\nrelationships:\n  - module: marker\n    kind: consumes_from\n    description: Takes the extracted text\n```\n";

#[test]
fn the_agents_proposal_is_written_when_accepted_and_only_then() {
    let home = common::home_with(&common::fake_child_toml());
    let work = tempfile::tempdir().unwrap();
    let (dir, answer) = module_and_answer(work.path(), PROPOSAL);
    let hint = format!("[[answer-file:{}]]", answer.display());
    let dir = dir.to_str().unwrap();

    // Without a terminal and without --yes: shown, not written.
    let out = run(
        home.path(),
        &["modules", "init", dir, "--draft", "--hint", &hint],
    );
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("name: rank"), "the proposal is shown: {text}");
    assert!(text.contains("add --yes"), "{text}");
    assert_eq!(
        shown(home.path())["capabilities"],
        serde_json::json!([]),
        "not written"
    );

    // With --yes: written, and the registered module carries it.
    let out = run(
        home.path(),
        &["modules", "init", dir, "--draft", "--yes", "--hint", &hint],
    );
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    let module = shown(home.path());
    assert_eq!(module["capabilities"][0]["name"], "rank", "{module}");
    assert_eq!(
        module["data_types"].as_array().map(Vec::len),
        Some(2),
        "{module}"
    );
    assert_eq!(module["relationships"][0]["module"], "marker", "{module}");
    assert_eq!(
        module["version"], "0.1.0",
        "the files' part is kept: {module}"
    );
}

#[test]
fn a_proposal_that_does_not_fit_the_schema_is_refused_naming_it() {
    let home = common::home_with(&common::fake_child_toml());
    let work = tempfile::tempdir().unwrap();
    let bad = "```yaml\ncapabilities:\n  - name: Rank Things\n    description: x\n```\n";
    let (dir, answer) = module_and_answer(work.path(), bad);
    let hint = format!("[[answer-file:{}]]", answer.display());
    let out = run(
        home.path(),
        &[
            "modules",
            "init",
            dir.to_str().unwrap(),
            "--draft",
            "--yes",
            "--hint",
            &hint,
        ],
    );
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Rank Things"),
        "the bad value is named: {text}"
    );
    assert!(text.contains("stays as drafted"), "{text}");
    assert_eq!(shown(home.path())["capabilities"], serde_json::json!([]));
}

#[test]
fn an_answer_without_a_proposal_is_refused_and_says_so() {
    let home = common::home_with(&common::fake_child_toml());
    let work = tempfile::tempdir().unwrap();
    let (dir, answer) = module_and_answer(work.path(), "I cannot tell what this module does.");
    let hint = format!("[[answer-file:{}]]", answer.display());
    let out = run(
        home.path(),
        &[
            "modules",
            "init",
            dir.to_str().unwrap(),
            "--draft",
            "--yes",
            "--hint",
            &hint,
        ],
    );
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("proposal"), "{text}");
}
