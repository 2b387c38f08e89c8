//! End-to-end (issue 29): the answering agent asks its asker back through
//! its own `ask_asker` tool (real `claude` CLI behind claude-code-mcp,
//! stand-in model), the asker sees `input_required` and answers with
//! `answer_question` or `jobs answer`; unanswered, the agent goes on.

use crate::common;
use crate::daemon_cli;
use crate::http_raw;
use crate::model_stub;
use crate::real_children;

use std::path::Path;
use std::sync::Arc;

use claude_comms::hub::Hub;
use common::{call, connect, home_with, ok_value, text_of};
use daemon_cli::{DaemonGuard, cli};
use model_stub::{ModelStub, is_tool_result, request_text};
use real_children::RealChildren;
use serde_json::{Value, json};

const ASK: &str = "mcp__comms__ask_asker";

/// A hub whose claude-code-mcp children run the real CLI against `model`;
/// `extra` is more TOML for the operator's config.
pub(crate) fn setup(
    real: &RealChildren,
    model: &ModelStub,
    extra: &str,
) -> (tempfile::TempDir, Arc<Hub>) {
    let home = home_with(&format!(
        "{extra}\n[permissions]\nshim = {:?}\n",
        env!("CARGO_BIN_EXE_claude-comms")
    ));
    let claude_home = home.path().join("claude-home");
    std::fs::create_dir_all(&claude_home).unwrap();
    let mut config = common::config_in(home.path());
    config.config.instances = real.instances_config(model, &claude_home);
    let hub = Hub::open(config, None).expect("hub opens");
    (home, hub)
}

/// The message that makes the stand-in model's agent ask `question` back.
pub(crate) fn asking(question: &str) -> String {
    format!("[[tool:{ASK} {}]]", json!({ "question": question }))
}

/// The agent tools' files left in `home`'s data dir.
fn agent_tool_files(home: &Path) -> Vec<String> {
    std::fs::read_dir(home.join("agent-tools"))
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
async fn the_agent_asks_its_asker_and_answers_with_what_it_was_told_on_both_backends() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let (home, hub) = setup(&real, &model, "");
    let client = connect(hub.clone()).await;
    for backend in ["claude-code-mcp", "claude-stream"] {
        let created = ok_value(
            &call(
                &client,
                "create_conversation",
                json!({"source": "marker", "target": "arangodb", "backend": backend}),
            )
            .await,
        );
        // A first turn (a stream process then serves the next question
        // too: its tools follow the question of each turn).
        let first = ok_value(
            &call(
                &client,
                "send_message",
                json!({"conversation_id": created["id"], "message": "hello"}),
            )
            .await,
        );
        assert_eq!(first["status"], "delivered", "{backend}: {first}");
        let question = format!("Pages or blocks, on {backend}?");
        let sent = call(
            &client,
            "send_message",
            json!({"conversation_id": created["id"], "message": asking(&question)}),
        )
        .await;
        let asked = ok_value(&sent);
        assert_eq!(asked["status"], "input_required", "{backend}: {asked}");
        let request = &asked["input_request"];
        assert_eq!(request["question"], question.as_str());
        assert_eq!(request["query_id"], asked["message_id"]);
        assert!(text_of(&sent).contains(&question));
        let query_id = request["query_id"].as_str().unwrap().to_string();
        // The job shows the question while the agent waits.
        let job = ok_value(&call(&client, "get_reply", json!({"message_id": query_id})).await);
        assert_eq!(job["status"], "input_required");
        assert_eq!(job["input_request"]["question"], question.as_str());

        let answer = format!("blocks, in page_blocks ({backend})");
        let answered = call(
            &client,
            "answer_question",
            json!({"query_id": query_id, "answer": answer}),
        )
        .await;
        let outcome = ok_value(&answered);
        assert_eq!(outcome["status"], "delivered", "{backend}: {outcome}");
        assert_eq!(outcome["message_id"], query_id.as_str());
        let reply = outcome["reply"].as_str().unwrap();
        assert!(
            reply.contains(&format!("OK marker answers: {answer}")),
            "{backend}: {reply}"
        );
        // The agent's next model request carried the answer, in the same turn.
        assert!(
            model
                .requests()
                .iter()
                .any(|r| is_tool_result(r) && request_text(r).contains(&answer)),
            "{backend}: no model request carried the answer"
        );
        // Answered once: a second answer is refused, naming why.
        let again = call(
            &client,
            "answer_question",
            json!({"query_id": query_id, "answer": "pages"}),
        )
        .await;
        assert_eq!(again.is_error, Some(true));
        assert!(
            text_of(&again).contains("is delivered"),
            "{}",
            text_of(&again)
        );

        // Both are messages of the conversation, in order.
        let transcript = ok_value(
            &call(
                &client,
                "get_conversation",
                json!({"conversation_id": created["id"]}),
            )
            .await,
        );
        let roles: Vec<&str> = transcript["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            [
                "query",
                "reply",
                "query",
                "ask_back",
                "ask_back_answer",
                "reply"
            ],
            "{backend}"
        );
    }
    client.cancel().await.unwrap();
    hub.shutdown().await;
    // No question's files are left behind (a stream process's go with it).
    assert!(
        agent_tool_files(home.path()).is_empty(),
        "{:?}",
        agent_tool_files(home.path())
    );
}

#[tokio::test]
#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
async fn an_unanswered_question_times_out_and_the_agent_goes_on() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let (_home, hub) = setup(&real, &model, "[context]\nask_back_timeout_s = 1\n");
    let client = connect(hub.clone()).await;
    let asked = ok_value(
        &call(
            &client,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": asking("Which port?")}),
        )
        .await,
    );
    assert_eq!(asked["status"], "input_required", "{asked}");
    let query_id = asked["message_id"].as_str().unwrap();
    // get_reply stops waiting while the question waits; then the agent
    // gives up on it and answers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let job = loop {
        let job = ok_value(
            &call(
                &client,
                "get_reply",
                json!({"message_id": query_id, "wait_s": 5}),
            )
            .await,
        );
        if job["status"] != "input_required" || std::time::Instant::now() > deadline {
            break job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(job["status"], "delivered", "{job}");
    let reply = job["reply"].as_str().unwrap();
    assert!(
        reply.contains("no answer came from marker within 1 s; go on with what you know"),
        "{reply}"
    );
    let late = call(
        &client,
        "answer_question",
        json!({"query_id": query_id, "answer": "8529"}),
    )
    .await;
    assert_eq!(late.is_error, Some(true));
    // stats counts it, unanswered.
    let stats = ok_value(&call(&client, "get_stats", json!({"since": "1d"})).await);
    let pair = &stats["pairs"][0];
    assert_eq!(
        (
            &pair["source"],
            &pair["target"],
            &pair["ask_backs"],
            &pair["ask_backs_unanswered"]
        ),
        (&json!("marker"), &json!("arangodb"), &json!(1), &json!(1)),
        "{stats}"
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
async fn cancelling_the_job_ends_the_wait() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let (_home, hub) = setup(&real, &model, "");
    let client = connect(hub.clone()).await;
    let asked = ok_value(
        &call(
            &client,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": asking("Really?")}),
        )
        .await,
    );
    assert_eq!(asked["status"], "input_required", "{asked}");
    let query_id = asked["message_id"].as_str().unwrap();
    let cancelled = ok_value(&call(&client, "cancel_job", json!({"message_id": query_id})).await);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let late = call(
        &client,
        "answer_question",
        json!({"query_id": query_id, "answer": "yes"}),
    )
    .await;
    assert_eq!(late.is_error, Some(true));
    assert!(
        text_of(&late).contains("is cancelled"),
        "{}",
        text_of(&late)
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

/// The structured output of a CLI command's `--json` output, whatever its
/// exit code, and the code.
pub(crate) fn json_and_code(out: &std::process::Output) -> (Value, Option<i32>) {
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (value, out.status.code())
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn only_the_asking_modules_token_answers_its_agents_question() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = runtime.block_on(ModelStub::start());
    let claude_home = tempfile::tempdir().unwrap();
    let home = common::home_with(&real.config_toml(&model, claude_home.path()));
    let _daemon = DaemonGuard(home.path().to_path_buf());
    let (started, _) = json_and_code(&cli(
        home.path(),
        &["--json", "daemon", "start", "--listen", "127.0.0.1:0"],
    ));
    let addr = started["http_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    let token = |module: &str| {
        let (created, _) = json_and_code(&cli(
            home.path(),
            &["--json", "tokens", "create", "--module", module],
        ));
        created["token"].as_str().unwrap().to_string()
    };
    let (marker_token, arangodb_token) = (token("marker"), token("arangodb"));

    let mut marker = http_raw::McpHttp::new(&addr, Some(&marker_token));
    marker.initialize();
    let asked = marker.tool(
        "send_message",
        json!({"target": "arangodb", "message": asking("Which port?")}),
    );
    let asked = &asked["structuredContent"];
    assert_eq!(asked["status"], "input_required", "{asked}");
    let id = asked["message_id"].as_str().unwrap();

    // The answering module takes part in the conversation, yet may not
    // answer in its asker's name: the same answer as an unknown id.
    let mut arangodb = http_raw::McpHttp::new(&addr, Some(&arangodb_token));
    arangodb.initialize();
    let refused = arangodb.tool("answer_question", json!({"query_id": id, "answer": "80"}));
    assert_eq!(refused["isError"], true, "{refused}");
    let unknown = "c0ffee00-0000-4000-8000-000000000001";
    let nobodys = arangodb.tool(
        "answer_question",
        json!({"query_id": unknown, "answer": "80"}),
    );
    assert_eq!(
        http_raw::tool_text(&refused).replace(id, "<id>"),
        http_raw::tool_text(&nobodys).replace(unknown, "<id>")
    );

    let answered = marker.tool("answer_question", json!({"query_id": id, "answer": "8529"}));
    let outcome = &answered["structuredContent"];
    assert_eq!(outcome["status"], "delivered", "{answered}");
    assert!(
        outcome["reply"]
            .as_str()
            .unwrap()
            .contains("OK marker answers: 8529")
    );
    drop(model);
}
