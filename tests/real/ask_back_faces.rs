//! End-to-end (issue 29), other faces of ask-back: the CLI (`send` exits
//! 4 with the question, `jobs answer`), the Rust communicator's events,
//! and `ask_module` (a question to a third module, a child of the one
//! being answered; refused past the hop limit).

use crate::ask_back::{asking, json_and_code};
use crate::common;
use crate::daemon_cli;
use crate::model_stub;
use crate::real_children;

use std::sync::Arc;

use claude_comms::hub::Hub;
use common::{call, connect, home_with, ok_value};
use daemon_cli::{DaemonGuard, cli};
use model_stub::ModelStub;
use real_children::RealChildren;
use serde_json::json;

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn the_cli_exits_4_with_the_question_and_jobs_answer_resumes_the_agent() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = runtime.block_on(ModelStub::start());
    let claude_home = tempfile::tempdir().unwrap();
    let home = common::home_with(&real.config_toml(&model, claude_home.path()));
    let _daemon = DaemonGuard(home.path().to_path_buf());
    let message = asking("Which port does it listen on?");

    // In a pipe the question is printed and the command exits 4; the
    // daemon carries the question on.
    let (sent, code) = json_and_code(&cli(
        home.path(),
        &[
            "--json", "send", "--from", "marker", "--to", "arangodb", &message,
        ],
    ));
    assert_eq!(code, Some(4), "{sent}");
    assert_eq!(sent["status"], "input_required");
    assert_eq!(
        sent["input_request"]["question"],
        "Which port does it listen on?"
    );
    let id = sent["message_id"].as_str().unwrap().to_string();
    let (shown, code) = json_and_code(&cli(home.path(), &["--json", "jobs", "show", &id]));
    assert_eq!(
        (shown["status"].as_str(), code),
        (Some("input_required"), Some(4))
    );

    let (answered, code) = json_and_code(&cli(
        home.path(),
        &["--json", "jobs", "answer", &id[..8], "8529,", "over", "TLS"],
    ));
    assert_eq!(code, Some(0), "{answered}");
    let reply = answered["reply"].as_str().unwrap();
    assert!(
        reply.contains("OK marker answers: 8529, over TLS"),
        "{reply}"
    );
    let (shown, code) = json_and_code(&cli(home.path(), &["--json", "jobs", "show", &id]));
    assert_eq!(
        (shown["status"].as_str(), code),
        (Some("delivered"), Some(0))
    );
    drop(model);
}

/// A hub whose config file (read again by the agent tools for
/// `ask_module`) runs the real children against `model`; its home, the
/// CLI's home and the hub.
fn file_setup(
    real: &RealChildren,
    model: &ModelStub,
    extra: &str,
) -> (tempfile::TempDir, tempfile::TempDir, Arc<Hub>) {
    let claude_home = tempfile::tempdir().unwrap();
    let home = home_with(&format!(
        "{}\n{extra}\n",
        real.config_toml(model, claude_home.path())
    ));
    let hub = common::hub_in(home.path());
    (home, claude_home, hub)
}

fn asking_module(target: &str, question: &str) -> String {
    format!(
        "[[tool:mcp__comms__ask_module {}]]",
        json!({ "target": target, "question": question })
    )
}

#[tokio::test]
#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
async fn the_agent_asks_a_third_module_and_the_question_is_a_child_of_its_own() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let (_home, _claude_home, hub) = file_setup(&real, &model, "");
    let client = connect(hub.clone()).await;
    let outcome = ok_value(
        &call(
            &client,
            "send_message",
            json!({"source": "marker", "target": "arangodb",
                   "message": asking_module("claude_mcp", "Which port do you use?")}),
        )
        .await,
    );
    assert_eq!(outcome["status"], "delivered", "{outcome}");
    let reply = outcome["reply"].as_str().unwrap();
    assert!(reply.contains("OK claude_mcp answers: "), "{reply}");
    let id = outcome["message_id"].as_str().unwrap();
    let job = hub.jobs().get(id).await.unwrap();
    assert_eq!(job.children.len(), 1, "{job:?}");
    let child = &job.children[0];
    assert_eq!(
        (
            child.source.as_str(),
            child.message.as_str(),
            child.status.as_str()
        ),
        ("arangodb", "Which port do you use?", "delivered")
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
async fn a_question_to_a_third_module_past_the_hop_limit_is_refused() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let (_home, _claude_home, hub) = file_setup(&real, &model, "[context]\nhop_limit = 1\n");
    let client = connect(hub.clone()).await;
    let outcome = ok_value(
        &call(
            &client,
            "send_message",
            json!({"source": "marker", "target": "arangodb",
                   "message": asking_module("marker", "And back to you?")}),
        )
        .await,
    );
    let reply = outcome["reply"].as_str().unwrap();
    assert!(
        reply.contains("ERR refused: this question would be hop 2 of a chain limited to 1 (marker → arangodb → marker)"),
        "{reply}"
    );
    let job = hub
        .jobs()
        .get(outcome["message_id"].as_str().unwrap())
        .await
        .unwrap();
    assert!(job.children.is_empty(), "nothing was asked: {job:?}");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
async fn a_communicator_sees_the_question_as_an_event_and_answers_it() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = home_with(&format!(
        "[permissions]\nshim = {:?}\n",
        env!("CARGO_BIN_EXE_claude-comms")
    ));
    let claude_home = home.path().join("claude-home");
    std::fs::create_dir_all(&claude_home).unwrap();
    let instances = real.instances_config(&model, &claude_home);
    let comm = claude_comms::Communicator::builder("marker")
        .data_dir(home.path())
        .configure(move |c| c.instances = instances)
        .build()
        .unwrap();
    let mut events = comm.send_message_streaming("arangodb", &asking("Which collection?"));
    let mut asked = Vec::new();
    let outcome = loop {
        match events.recv().await.expect("the stream ends with Done") {
            claude_comms::communicator::SendEvent::Progress(_) => {}
            claude_comms::communicator::SendEvent::InputRequired(request) => {
                asked.push(request.question.clone());
                comm.answer_question(&request.query_id, "page_blocks")
                    .await
                    .unwrap();
            }
            claude_comms::communicator::SendEvent::Done(outcome) => break outcome.unwrap(),
        }
    };
    assert_eq!(asked, ["Which collection?"]);
    assert_eq!(outcome.status, "delivered");
    let reply = outcome.reply.unwrap();
    assert!(reply.contains("OK marker answers: page_blocks"), "{reply}");
    assert!(events.recv().await.is_none(), "Done is the last event");
    comm.close().await;
}
