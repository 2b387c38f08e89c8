//! Commit-pinned replies (issue 21) with the in-repo fake child, whose
//! answer quotes the prompt it got: each reply records the module folder's
//! commit and dirtiness; a new commit makes earlier replies stale and the
//! next turn's prompt names the changed files; `reuse: "unchanged"` gives
//! the earlier answer without asking the child, until the module changes.

use crate::common;

use std::path::Path;
use std::process::Command;

use claude_comms::hub::{ExportFormat, Hub, Reuse, Role, SendOutcome, SendRequest};
use common::{call, connect, fake_child_toml, git, hub_in, ok_value};
use serde_json::json;

/// The folder of `arangodb` in `home`, made a repository with one commit.
fn module_repo(home: &Path) -> std::path::PathBuf {
    let folder = home.join("modules").join("arangodb");
    git(&folder, &["init", "-q", "-b", "main"]);
    std::fs::write(folder.join("api.rs"), "pub fn store() {}\n").unwrap();
    git(&folder, &["add", "."]);
    git(&folder, &["commit", "-q", "-m", "first"]);
    folder
}

fn ask(message: &str, conversation: Option<&str>, reuse: Reuse) -> SendRequest {
    SendRequest {
        source: conversation.is_none().then(|| "marker".into()),
        target: conversation.is_none().then(|| "arangodb".into()),
        message: message.into(),
        conversation_id: conversation.map(str::to_string),
        timeout_s: Some(30),
        reuse,
        ..SendRequest::default()
    }
}

async fn child_requests(hub: &Hub) -> u64 {
    hub.instances()
        .local()
        .await
        .unwrap()
        .iter()
        .map(|s| s.requests_served)
        .sum()
}

async fn replies(hub: &Hub, conversation: &str) -> Vec<claude_comms::hub::Message> {
    hub.conversations()
        .get(conversation, None, None)
        .await
        .unwrap()
        .messages
        .into_iter()
        .filter(|m| m.role == Role::Reply)
        .collect()
}

#[tokio::test]
async fn a_new_commit_makes_the_reply_stale_and_the_next_prompt_names_the_changed_files() {
    let home = common::home_with(&fake_child_toml());
    let folder = module_repo(home.path());
    let first_head = git(&folder, &["rev-parse", "HEAD"]);
    let hub = hub_in(home.path());

    let first = hub
        .messaging()
        .send(ask("How do I store a graph?", None, Reuse::Never))
        .await
        .unwrap();
    assert_eq!(first.module_commit.as_deref(), Some(first_head.as_str()));
    assert_eq!(first.module_dirty, Some(false));
    let conversation = first.conversation_id.clone();
    let stored = replies(&hub, &conversation).await;
    assert_eq!(
        stored[0].module_commit.as_deref(),
        Some(first_head.as_str())
    );
    assert_eq!(stored[0].stale, None, "nothing changed yet");

    std::fs::write(folder.join("api.rs"), "pub fn store(graph: &str) {}\n").unwrap();
    std::fs::write(folder.join("schema.rs"), "pub struct Edge;\n").unwrap();
    git(&folder, &["add", "."]);
    git(&folder, &["commit", "-q", "-m", "edges"]);
    let second_head = git(&folder, &["rev-parse", "HEAD"]);

    let stale = replies(&hub, &conversation).await.remove(0).stale;
    let stale = stale.expect("the reply is stale after a commit");
    assert_eq!(stale.commits, Some(1));
    assert_eq!(stale.files, ["api.rs", "schema.rs"]);
    assert_eq!(
        (stale.from.as_str(), stale.to.as_str()),
        (first_head.as_str(), second_head.as_str())
    );

    // The fake child quotes its prompt: the follow-up's names the files.
    let second = hub
        .messaging()
        .send(ask("And edges?", Some(&conversation), Reuse::Never))
        .await
        .unwrap();
    let prompt = second.reply.as_deref().unwrap();
    assert!(
        prompt.contains("Your code changed since your last answer"),
        "{prompt}"
    );
    assert!(prompt.contains("- api.rs\n- schema.rs\n"), "{prompt}");
    assert_eq!(second.module_commit.as_deref(), Some(second_head.as_str()));
    let both = replies(&hub, &conversation).await;
    assert!(
        both[0].stale.is_some() && both[1].stale.is_none(),
        "{both:?}"
    );

    // The next turn, with nothing changed since, gets no note of its own:
    // the one heading it quotes is in the history (the second reply).
    let third = hub
        .messaging()
        .send(ask("Thanks.", Some(&conversation), Reuse::Never))
        .await
        .unwrap();
    let third = third.reply.unwrap();
    assert_eq!(
        third.matches("Your code changed since").count(),
        1,
        "{third}"
    );

    // The export and the MCP tool carry the same fields.
    let exported = hub
        .conversations()
        .export(&conversation, ExportFormat::Json)
        .await
        .unwrap();
    let exported: serde_json::Value = serde_json::from_str(&exported).unwrap();
    let first_reply = &exported["messages"][1];
    assert_eq!(first_reply["module_commit"], first_head.as_str());
    assert_eq!(first_reply["module_dirty"], false);
    assert_eq!(
        first_reply["stale"]["files"],
        json!(["api.rs", "schema.rs"])
    );
    let markdown = hub
        .conversations()
        .export(&conversation, ExportFormat::Markdown)
        .await
        .unwrap();
    assert!(
        markdown.contains("**Stale**: 1 commits since, 2 files changed (api.rs, schema.rs)"),
        "{markdown}"
    );
    let client = connect(hub.clone()).await;
    let shown = ok_value(
        &call(
            &client,
            "get_conversation",
            json!({"conversation_id": conversation}),
        )
        .await,
    );
    assert_eq!(shown["messages"][1]["stale"]["commits"], 1);
    assert_eq!(shown["messages"][3]["module_commit"], second_head.as_str());
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn reuse_returns_the_earlier_answer_without_the_child_until_the_module_changes() {
    let home = common::home_with(&fake_child_toml());
    let folder = module_repo(home.path());
    let hub = hub_in(home.path());
    let question = "What does store() take?";

    // Nothing to reuse yet: the child answers.
    let first = hub
        .messaging()
        .send(ask(question, None, Reuse::Unchanged))
        .await
        .unwrap();
    assert!(!first.reused);
    assert_eq!(child_requests(&hub).await, 1);

    // The same question, spaced differently, in a new conversation.
    let again = hub
        .messaging()
        .send(ask(
            "  What does\n store()   take? ",
            None,
            Reuse::Unchanged,
        ))
        .await
        .unwrap();
    assert!(again.reused, "{again:?}");
    assert_eq!(again.reused_from, first.reply_id);
    assert_eq!(
        again.reply, first.reply,
        "the earlier answer, word for word"
    );
    assert_eq!((again.instance_id.as_deref(), again.cost_usd), (None, None));
    assert_eq!(child_requests(&hub).await, 1, "the child was not asked");
    // Stored like any other reply, saying what it repeats.
    let stored = replies(&hub, &again.conversation_id).await.remove(0);
    assert_eq!(stored.content, first.reply.clone().unwrap());
    assert_eq!(stored.reused_from, first.reply_id);
    assert_eq!(stored.module_commit, first.module_commit);

    // Through MCP, the same; without `reuse` the agent is always asked.
    let client = connect(hub.clone()).await;
    let via_mcp = ok_value(&call(&client, "send_message", json!({"source": "marker", "target": "arangodb", "message": question, "reuse": "unchanged"})).await);
    assert_eq!(via_mcp["reused"], true);
    assert_eq!(via_mcp["reused_from"], first.reply_id.as_deref().unwrap());
    // Another asker's identical question goes to the agent: an answer
    // written for marker is not handed to claude_mcp.
    let other = ok_value(&call(&client, "send_message", json!({"source": "claude_mcp", "target": "arangodb", "message": question, "reuse": "unchanged"})).await);
    assert_ne!(other["reused"], true, "{other}");
    assert_eq!(child_requests(&hub).await, 2);
    let asked = hub
        .messaging()
        .send(ask(question, None, Reuse::Never))
        .await
        .unwrap();
    assert!(!asked.reused);
    assert_eq!(child_requests(&hub).await, 3);

    // Uncommitted changes: recorded as dirty, and nothing is reused.
    std::fs::write(folder.join("api.rs"), "pub fn store(g: u8) {}\n").unwrap();
    let dirty = hub
        .messaging()
        .send(ask(question, None, Reuse::Unchanged))
        .await
        .unwrap();
    assert!(!dirty.reused);
    assert_eq!(dirty.module_dirty, Some(true));
    assert_eq!(child_requests(&hub).await, 4);

    // Committed: a new commit, so the question is asked again once...
    git(&folder, &["commit", "-q", "-am", "typed"]);
    let head = git(&folder, &["rev-parse", "HEAD"]);
    let changed = hub
        .messaging()
        .send(ask(question, None, Reuse::Unchanged))
        .await
        .unwrap();
    assert!(!changed.reused);
    assert_eq!(
        (changed.module_commit.as_deref(), changed.module_dirty),
        (Some(head.as_str()), Some(false))
    );
    // ...and that answer is the one reused from then on.
    let reused = hub
        .messaging()
        .send(ask(question, None, Reuse::Unchanged))
        .await
        .unwrap();
    assert_eq!(reused.reused_from, changed.reply_id);
    assert_eq!(child_requests(&hub).await, 5);
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_folder_without_git_records_nulls_and_works_as_before() {
    let home = common::home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let outcome: SendOutcome = hub
        .messaging()
        .send(ask("Hello?", None, Reuse::Unchanged))
        .await
        .unwrap();
    assert_eq!(
        (outcome.module_commit.clone(), outcome.module_dirty),
        (None, None)
    );
    let again = hub
        .messaging()
        .send(ask(
            "Hello?",
            Some(&outcome.conversation_id),
            Reuse::Unchanged,
        ))
        .await
        .unwrap();
    assert!(!again.reused, "without a commit nothing is reused");
    assert!(!again.reply.unwrap().contains("Your code changed"));
    let stored = replies(&hub, &outcome.conversation_id).await;
    assert!(
        stored
            .iter()
            .all(|m| m.module_commit.is_none() && m.stale.is_none())
    );
    assert_eq!(child_requests(&hub).await, 2);
    hub.shutdown().await;
}

#[test]
fn the_cli_reuses_with_reuse_unchanged_and_names_a_bad_value() {
    let home = common::home_with(&fake_child_toml());
    module_repo(home.path());
    let send = |extra: &[&str]| {
        let mut args = vec!["--json", "send", "--from", "marker", "--to", "arangodb"];
        args.extend_from_slice(extra);
        args.push("where is the schema?");
        Command::new(env!("CARGO_BIN_EXE_claude-comms"))
            .env("CLAUDE_COMMS_HOME", home.path())
            .env("CLAUDE_COMMS_HUB", "embedded")
            // The git it runs reads this throw-away home's config, if any.
            .env("HOME", home.path())
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env_remove("CLAUDE_COMMS_MODULE")
            .env_remove("CLAUDE_COMMS_HOP")
            .env_remove("CLAUDE_COMMS_CHAIN")
            .args(&args)
            .output()
            .expect("claude-comms runs")
    };
    let parse = |out: std::process::Output| -> serde_json::Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let first = parse(send(&[]));
    assert_eq!(first["reused"], false);
    assert_eq!(first["module_dirty"], false);
    let again = parse(send(&["--reuse", "unchanged"]));
    assert_eq!(again["reused"], true);
    assert_eq!(again["reused_from"], first["reply_id"]);
    assert_eq!(again["reply"], first["reply"]);

    let bad = send(&["--reuse", "sometimes"]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("sometimes") && stderr.contains("unchanged"),
        "{stderr}"
    );
}
