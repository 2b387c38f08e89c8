//! End-to-end tier of the instance manager: the real claude-code-mcp and the
//! real `claude` CLI, driven offline by the stand-in model on 127.0.0.1.

use crate::model_stub;
use crate::real_children;

use std::path::Path;
use std::time::Duration;

use claude_comms::config::BackendKind;
use claude_comms::instances::{InstanceManager, Query};
use model_stub::{ModelStub, request_text};
use real_children::RealChildren;
use tokio_util::sync::CancellationToken;

fn query(backend: BackendKind, workdir: &Path, conversation: &str, prompt: &str) -> Query {
    Query {
        backend,
        source: "marker".into(),
        target: "arangodb".into(),
        conversation_id: conversation.into(),
        prompt: prompt.into(),
        workdir: workdir.to_path_buf(),
        timeout: Duration::from_secs(120),
        resume_session: None,
        profile: Default::default(),
        progress: None,
        cancel: CancellationToken::new(),
        agent_scope: None,
    }
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[tokio::test]
async fn claude_code_mcp_answers_through_the_real_cli() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = tempfile::tempdir().unwrap();
    let module = tempfile::tempdir().unwrap();
    let manager = InstanceManager::new(real.instances_config(&model, home.path()));

    let answer = manager
        .query(query(
            BackendKind::ClaudeCodeMcp,
            module.path(),
            "c1",
            "Which collection holds the extracted blocks?",
        ))
        .await
        .unwrap();
    assert_eq!(
        answer.text.trim(),
        "stub model answer to: Which collection holds the extracted blocks?"
    );
    let requests = model.requests();
    assert!(
        requests
            .iter()
            .any(|r| request_text(r).contains("Which collection holds the extracted blocks?")),
        "the question reached the model"
    );
    let pid = manager.status(&answer.instance_id).unwrap().pid.unwrap();
    manager.shutdown().await;
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "claude-code-mcp was reaped"
    );
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[tokio::test]
async fn a_stream_instance_keeps_the_conversation_and_resumes_it_after_a_restart() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = tempfile::tempdir().unwrap();
    let module = tempfile::tempdir().unwrap();
    let config = real.instances_config(&model, home.path());

    let manager = InstanceManager::new(config.clone());
    let first = manager
        .query(query(
            BackendKind::ClaudeStream,
            module.path(),
            "c2",
            "first question alpha",
        ))
        .await
        .unwrap();
    assert_eq!(
        first.text.trim(),
        "stub model answer to: first question alpha"
    );
    let session = first
        .session_id
        .clone()
        .expect("the CLI reports its session");
    let second = manager
        .query(query(
            BackendKind::ClaudeStream,
            module.path(),
            "c2",
            "second question beta",
        ))
        .await
        .unwrap();
    assert_eq!(
        second.instance_id, first.instance_id,
        "the warm process took turn 2"
    );
    assert!(second.session_continued);
    let turn2 = request_text(model.requests().last().unwrap());
    assert!(
        turn2.contains("first question alpha"),
        "turn 2 carries turn 1: {turn2}"
    );
    assert!(turn2.contains("stub model answer to: first question alpha"));
    manager.shutdown().await;

    // A new manager (as after a server restart) resumes the stored session.
    let manager = InstanceManager::new(config);
    let mut third = query(
        BackendKind::ClaudeStream,
        module.path(),
        "c2",
        "third question gamma",
    );
    third.resume_session = Some(session);
    let third = manager.query(third).await.unwrap();
    assert!(third.session_continued);
    let turn3 = request_text(model.requests().last().unwrap());
    assert!(
        turn3.contains("second question beta"),
        "the resumed session has the history: {turn3}"
    );
    assert!(turn3.contains("third question gamma"));
    manager.shutdown().await;
}
