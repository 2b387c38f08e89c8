//! `claude-comms modules init [PATH]`: a descriptor drafted from a Rust, a
//! Node, a Python and a Go folder, registered with its folder and answering
//! a question (the fake child says which folder its agent worked in); an
//! empty folder is refused, naming it; `register-module NAME --path DIR`
//! without a descriptor points at `modules init`.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "embedded")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_MODULE")
        .env_remove("RUST_LOG")
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

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `modules init DIR --json`, which must succeed.
fn init(home: &Path, dir: &Path) -> Value {
    let out = run(home, &["--json", "modules", "init", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", said(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn init_reads_rust_node_python_and_go_folders() {
    let home = common::home_with(&common::fake_child_toml());
    let work = tempfile::tempdir().unwrap();

    let rust = work.path().join("pdf-tool");
    write(
        &rust,
        "Cargo.toml",
        "[package]\nname = \"PDF_Tool\"\nversion = \"2.3.4\"\n",
    );
    write(&rust, "src/main.rs", "fn main() {}\n");
    write(
        &rust,
        "README.md",
        "# PDF tool\n\n[![ci](badge)](ci)\n\nTurns PDFs\ninto Markdown.\n\nUsage below.\n",
    );
    let node = work.path().join("web");
    write(
        &node,
        "package.json",
        r#"{"name": "@acme/web-ui", "version": "1.0.0", "description": "The web front end"}"#,
    );
    write(&node, "src/app.ts", "export {};\n");
    let python = work.path().join("etl");
    write(
        &python,
        "pyproject.toml",
        "[project]\nname = \"etl-jobs\"\nversion = \"0.9.1\"\n",
    );
    write(&python, "etl/__init__.py", "");
    write(&python, "README.md", "Nightly loads into the warehouse.\n");
    let go = work.path().join("store");
    write(
        &go,
        "go.mod",
        "module github.com/acme/graph-store\n\ngo 1.22\n",
    );
    write(&go, "main.go", "package main\n");

    for (dir, name, version, description, tags) in [
        (
            &rust,
            "pdf_tool",
            "2.3.4",
            "Turns PDFs into Markdown.",
            vec!["rust"],
        ),
        (
            &node,
            "web-ui",
            "1.0.0",
            "The web front end",
            vec!["typescript", "javascript"],
        ),
        (
            &python,
            "etl-jobs",
            "0.9.1",
            "Nightly loads into the warehouse.",
            vec!["python"],
        ),
        (
            &go,
            "graph-store",
            "0.0.0",
            "The graph-store module.",
            vec!["go"],
        ),
    ] {
        let wrote = init(home.path(), dir);
        let descriptor = &wrote["descriptor"];
        assert_eq!(descriptor["name"], name, "{wrote}");
        assert_eq!(descriptor["version"], version, "{wrote}");
        assert_eq!(descriptor["description"], description, "{wrote}");
        assert_eq!(descriptor["tags"], serde_json::json!(tags), "{wrote}");
        assert_eq!(
            descriptor["path"],
            dir.canonicalize().unwrap().to_str().unwrap()
        );
        // What it wrote is a registered module with that folder.
        let file = wrote["file"].as_str().unwrap();
        assert!(Path::new(file).starts_with(home.path()), "{file}");
        let checked = run(home.path(), &["modules", "validate", file]);
        assert!(checked.status.success(), "{}", said(&checked));
        let shown = run(home.path(), &["--json", "modules", "show", name]);
        assert!(shown.status.success(), "{}", said(&shown));
    }
    // A folder without a version says so (go.mod has none).
    let go_again = init(home.path(), &go);
    assert!(
        go_again["notes"].to_string().contains("no version"),
        "{go_again}"
    );

    // The table form prints the descriptor it wrote, and the notes.
    let out = run(home.path(), &["modules", "init", rust.to_str().unwrap()]);
    let text = said(&out);
    assert!(
        text.contains("name: pdf_tool") && text.contains("registered in"),
        "{text}"
    );
    assert!(
        text.contains("capabilities, data_types and relationships"),
        "{text}"
    );
}

#[test]
fn an_initialised_module_answers_in_its_own_folder() {
    let home = common::home_with(&common::fake_child_toml());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("ranker");
    write(
        &dir,
        "Cargo.toml",
        "[package]\nname = \"ranker\"\nversion = \"0.1.0\"\n",
    );
    init(home.path(), &dir);
    let out = run(
        home.path(),
        &[
            "send", "--from", "marker", "--to", "ranker", "what", "do", "you", "rank?",
        ],
    );
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    let folder = dir.canonicalize().unwrap();
    assert!(
        text.contains(&format!("fake answer from {}", folder.display())),
        "the agent worked in the module's folder: {text}"
    );
    assert!(text.contains("what do you rank?"), "{text}");
}

#[test]
fn an_empty_folder_or_none_is_refused_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = run(
        home.path(),
        &["modules", "init", empty.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let text = said(&out);
    assert!(
        text.contains(&empty.path().display().to_string()) && text.contains("empty"),
        "{text}"
    );
    let missing = empty.path().join("nowhere");
    let out = run(home.path(), &["modules", "init", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(said(&out).contains("no such folder"), "{}", said(&out));
    // A folder with files but no manifest is named after the folder.
    let loose = empty.path().join("Loose Scripts");
    write(&loose, "run.py", "print(1)\n");
    let out = run(
        home.path(),
        &["--json", "modules", "init", loose.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", said(&out));
    let wrote: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(wrote["descriptor"]["name"], "loose-scripts", "{wrote}");
    // A broken manifest is named, not skipped.
    let broken = empty.path().join("broken");
    write(&broken, "Cargo.toml", "[package\nname = ");
    let out = run(home.path(), &["modules", "init", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(said(&out).contains("Cargo.toml"), "{}", said(&out));
}

#[test]
fn register_module_without_a_descriptor_suggests_modules_init() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        home.path(),
        &[
            "register-module",
            "ranker",
            "--path",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = said(&out);
    assert!(text.contains("--desc"), "{text}");
    assert!(
        text.contains(&format!(
            "claude-comms modules init {} --name ranker",
            dir.path().display()
        )),
        "{text}"
    );
}
