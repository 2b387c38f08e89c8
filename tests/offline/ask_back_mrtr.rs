//! Ask-back (issue 29) on MCP 2026-07-28: a client that declared
//! elicitation gets the agent's question as an `InputRequiredResult`
//! (SEP-2322) and retries the call with the answer; a task shows
//! `input_required` with the question and `tasks/update` answers it. The
//! fake child asks with `[[askback:QUESTION]]` through the real agent tools.

use std::time::Duration;

use crate::common;

use common::{connect_stateless, connect_with, fake_child_toml, home_with, hub_in, ok_value};
use rmcp::RoleClient;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, ErrorCode,
    GetTaskParams, Implementation, InputRequiredResult, InputResponses, TaskPayload,
    UpdateTaskParams,
};
use rmcp::service::RunningService;
use serde_json::{Value, json};

type Client = RunningService<RoleClient, ClientConfig>;

fn home() -> tempfile::TempDir {
    home_with(&format!(
        "{}\n[permissions]\nshim = {:?}\n",
        fake_child_toml(),
        env!("CARGO_BIN_EXE_claude-comms")
    ))
}

/// A client that declares elicitation (and, with `tasks`, the tasks
/// extension).
fn eliciting(tasks: bool) -> ClientConfig {
    let builder = ClientCapabilities::builder().enable_elicitation();
    let capabilities = if tasks {
        builder.enable_tasks().build()
    } else {
        builder.build()
    };
    ClientConfig::new(capabilities, Implementation::new("mrtr-test", "0"))
}

fn send(message: &str) -> CallToolRequestParams {
    let args = json!({"source": "marker", "target": "arangodb", "message": message});
    CallToolRequestParams::new("send_message").with_arguments(args.as_object().unwrap().clone())
}

/// The one input request of `result`: its key and its JSON.
fn only_request(result: &InputRequiredResult) -> (String, Value) {
    let requests = result.input_requests.as_ref().expect("input requests");
    assert_eq!(requests.len(), 1, "{result:?}");
    let (key, request) = requests.iter().next().unwrap();
    (key.clone(), serde_json::to_value(request).unwrap())
}

fn accept(key: &str, answer: &str) -> InputResponses {
    InputResponses::from([(
        key.to_string(),
        json!({"action": "accept", "content": {"answer": answer}}),
    )])
}

async fn first_round(client: &Client, message: &str) -> InputRequiredResult {
    match client.call_tool_once(send(message)).await.unwrap() {
        CallToolResponse::InputRequired(result) => result,
        other => panic!("expected input_required, got {other:?}"),
    }
}

#[tokio::test]
async fn an_eliciting_client_answers_the_question_on_the_retry_of_the_same_call() {
    let home = home();
    let hub = hub_in(home.path());
    let client = connect_stateless(hub.clone(), eliciting(false)).await;
    let asked = first_round(&client, "[[askback:JSON or CSV?]]").await;
    let (key, request) = only_request(&asked);
    assert_eq!(request["method"], "elicitation/create", "{request}");
    assert_eq!(request["params"]["mode"], "form", "{request}");
    let message = request["params"]["message"].as_str().unwrap();
    assert!(
        message.contains("arangodb asks you back") && message.contains("JSON or CSV?"),
        "{message}"
    );
    assert_eq!(
        request["params"]["requestedSchema"]["required"],
        json!(["answer"])
    );
    let state = asked.request_state.clone().expect("request state");
    // Meanwhile the job shows the question, as for any client.
    let jobs = hub.jobs().list(None, None, 10).await.unwrap();
    assert_eq!(jobs[0].status, "input_required", "{jobs:?}");

    let retry = send("[[askback:JSON or CSV?]]")
        .with_input_responses(accept(&key, "JSON lines"))
        .with_request_state(state);
    let CallToolResponse::Complete(done) = client.call_tool_once(retry).await.unwrap() else {
        panic!("expected the final reply");
    };
    let outcome = ok_value(&done);
    assert_eq!(outcome["status"], "delivered", "{outcome}");
    assert_eq!(outcome["reply"], "asked back: marker answers: JSON lines");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_changed_or_foreign_request_state_is_refused_and_answers_nothing() {
    let home = home();
    let hub = hub_in(home.path());
    let client = connect_stateless(hub.clone(), eliciting(false)).await;
    let asked = first_round(&client, "[[askback:Which port?]]").await;
    let (key, _) = only_request(&asked);
    let state = asked.request_state.clone().unwrap();
    let refused = |response: Result<CallToolResponse, rmcp::ServiceError>| match response {
        Err(rmcp::ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{e:?}");
            e.message.to_string()
        }
        other => panic!("expected a refusal, got {other:?}"),
    };
    for forged in [
        format!("{state}-TAMPERED"),
        state.replace("ask-back:", "ask-back:0"),
        "ask-back:c0ffee00-0000-4000-8000-000000000001".to_string(),
        "anything".to_string(),
    ] {
        let retry = send("[[askback:Which port?]]")
            .with_input_responses(accept(&key, "80"))
            .with_request_state(forged.clone());
        let message = refused(client.call_tool_once(retry).await);
        assert!(message.contains("requestState"), "{forged}: {message}");
    }
    // The true state on another call (another question's text) is no better.
    let retry = send("[[askback:Which host?]]")
        .with_input_responses(accept(&key, "80"))
        .with_request_state(state.clone());
    refused(client.call_tool_once(retry).await);
    // Nothing was answered: the question still waits, and the true retry works.
    let query_id = hub
        .messaging()
        .question_back(state.trim_start_matches("ask-back:"))
        .await
        .unwrap()
        .query_id;
    assert_eq!(
        hub.jobs().get(&query_id).await.unwrap().status,
        "input_required"
    );
    let retry = send("[[askback:Which port?]]")
        .with_input_responses(accept(&key, "8529"))
        .with_request_state(state);
    let CallToolResponse::Complete(done) = client.call_tool_once(retry).await.unwrap() else {
        panic!("expected the final reply");
    };
    assert_eq!(ok_value(&done)["reply"], "asked back: marker answers: 8529");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_declined_elicitation_lets_the_agent_go_on_and_a_retry_without_it_asks_again() {
    let home = home();
    let hub = hub_in(home.path());
    let client = connect_stateless(hub.clone(), eliciting(false)).await;
    let asked = first_round(&client, "[[askback:Pages or blocks?]]").await;
    let (key, _) = only_request(&asked);
    let state = asked.request_state.clone().unwrap();
    // A retry that carries no response for the question gets it again.
    let again = client
        .call_tool_once(send("[[askback:Pages or blocks?]]").with_request_state(state.clone()))
        .await
        .unwrap();
    let CallToolResponse::InputRequired(again) = again else {
        panic!("expected the question again, got {again:?}");
    };
    assert_eq!(only_request(&again).0, key);
    let declined = InputResponses::from([(key, json!({"action": "decline"}))]);
    let retry = send("[[askback:Pages or blocks?]]")
        .with_input_responses(declined)
        .with_request_state(state);
    let CallToolResponse::Complete(done) = client.call_tool_once(retry).await.unwrap() else {
        panic!("expected the final reply");
    };
    let reply = ok_value(&done)["reply"].as_str().unwrap().to_string();
    assert!(
        reply.contains("marker will not answer this question; go on with what you know"),
        "{reply}"
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_client_without_elicitation_keeps_the_input_required_tool_result() {
    let home = home();
    let hub = hub_in(home.path());
    let plain = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("plain", "0"),
    );
    let client = connect_stateless(hub.clone(), plain).await;
    let CallToolResponse::Complete(result) = client
        .call_tool_once(send("[[askback:Why?]]"))
        .await
        .unwrap()
    else {
        panic!("expected a tool result");
    };
    let asked = ok_value(&result);
    assert_eq!(asked["status"], "input_required", "{asked}");
    assert_eq!(asked["input_request"]["question"], "Why?");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

/// Polls `tasks/get` until `done` holds for the task, within 30 s.
async fn task_until(
    client: &Client,
    task_id: &str,
    done: impl Fn(&rmcp::model::DetailedTask) -> bool,
) -> rmcp::model::DetailedTask {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = client
            .get_task(GetTaskParams::new(task_id.to_string()))
            .await
            .unwrap();
        if done(&got.task) {
            return got.task;
        }
        assert!(tokio::time::Instant::now() < deadline, "{:?}", got.task);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `message` as a task and polls until the task is input_required;
/// the task's id and what `tasks/get` then shows.
async fn task_waiting_for_input(
    client: &Client,
    message: &str,
) -> (String, rmcp::model::DetailedTask) {
    let CallToolResponse::Task(created) = client.call_tool_once(send(message)).await.unwrap()
    else {
        panic!("expected a task");
    };
    let task_id = created.task.task_id;
    let waiting = task_until(client, &task_id, |t| {
        matches!(t.payload, TaskPayload::InputRequired { .. })
    })
    .await;
    (task_id, waiting)
}

#[tokio::test]
async fn a_task_shows_the_question_as_its_input_request_and_tasks_update_answers_it() {
    let home = home();
    let hub = hub_in(home.path());
    let client = connect_with(hub.clone(), eliciting(true)).await;
    let (task_id, waiting) = task_waiting_for_input(&client, "[[askback:Which index?]]").await;
    let TaskPayload::InputRequired { input_requests } = &waiting.payload else {
        unreachable!()
    };
    assert_eq!(input_requests.len(), 1, "{waiting:?}");
    let (key, request) = input_requests.iter().next().unwrap();
    let request = serde_json::to_value(request).unwrap();
    assert_eq!(request["method"], "elicitation/create");
    assert!(
        request["params"]["message"]
            .as_str()
            .unwrap()
            .contains("Which index?")
    );

    // A response to a key the task did not ask is ignored.
    client
        .update_task(UpdateTaskParams::new(
            task_id.clone(),
            accept("ask_back_other", "no"),
        ))
        .await
        .unwrap();
    assert_eq!(
        hub.jobs().get(&task_id).await.unwrap().status,
        "input_required"
    );
    client
        .update_task(UpdateTaskParams::new(
            task_id.clone(),
            accept(key, "the hash index"),
        ))
        .await
        .unwrap();
    let done = task_until(&client, &task_id, |t| t.status().is_terminal()).await;
    let TaskPayload::Completed { result } = done.payload else {
        panic!("expected completed, got {done:?}");
    };
    assert_eq!(
        result["structuredContent"]["reply"],
        "asked back: marker answers: the hash index"
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_task_client_without_elicitation_sees_no_input_request_and_answers_with_the_tool() {
    let home = home();
    let hub = hub_in(home.path());
    let config = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("tasks-only", "0"),
    );
    let client = connect_with(hub.clone(), config).await;
    let (task_id, waiting) = task_waiting_for_input(&client, "[[askback:Which one?]]").await;
    let TaskPayload::InputRequired { input_requests } = &waiting.payload else {
        unreachable!()
    };
    assert!(input_requests.is_empty(), "{waiting:?}");
    assert!(
        waiting
            .task
            .status_message
            .as_deref()
            .unwrap_or("")
            .contains("answer_question"),
        "{waiting:?}"
    );
    let answered = common::call(
        &client,
        "answer_question",
        json!({"query_id": task_id, "answer": "the first"}),
    )
    .await;
    assert_eq!(
        ok_value(&answered)["reply"],
        "asked back: marker answers: the first"
    );
    let done = task_until(&client, &task_id, |t| t.status().is_terminal()).await;
    assert!(
        matches!(done.payload, TaskPayload::Completed { .. }),
        "{done:?}"
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}
