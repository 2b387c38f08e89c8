//! MCP tasks (SEP-2663) for `send_message`, over an in-process rmcp client
//! and the in-repo fake child. A task is a job: its id is the job's id, it
//! is stored and listed with the jobs, cancelling it cancels the work at the
//! child, and a process that stops under it leaves it failed, never replayed.

use std::time::Duration;

use crate::common;

use common::{call, connect, connect_with, fake_child_toml, home_with, hub_in, ok_value, text_of};
use rmcp::RoleClient;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ClientCapabilities,
    ClientConfig, ErrorCode, GetTaskParams, Implementation, TaskPayload, TaskStatus,
};
use rmcp::service::RunningService;
use serde_json::{Value, json};

/// How long a test waits for something that should happen within a second.
const DEADLINE: Duration = Duration::from_secs(30);

/// A client that declares the tasks extension at `initialize`.
fn tasks_client() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("tasks-test", "0"),
    )
}

fn ask(message: &str) -> CallToolRequestParams {
    let args = json!({"source": "marker", "target": "arangodb", "message": message});
    CallToolRequestParams::new("send_message").with_arguments(args.as_object().unwrap().clone())
}

/// Sends `message` and returns the task id (panics on any other answer).
async fn start_task(client: &RunningService<RoleClient, ClientConfig>, message: &str) -> String {
    match client.call_tool_once(ask(message)).await.unwrap() {
        CallToolResponse::Task(created) => {
            assert_eq!(created.task.status, TaskStatus::Working, "{created:?}");
            created.task.task_id
        }
        other => panic!("expected a task, got {other:?}"),
    }
}

/// Polls `tasks/get` until the task is terminal, within [`DEADLINE`].
async fn until_terminal(
    client: &RunningService<RoleClient, ClientConfig>,
    task_id: &str,
) -> rmcp::model::DetailedTask {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let got = client
            .get_task(GetTaskParams::new(task_id.to_string()))
            .await
            .unwrap();
        if got.task.status().is_terminal() {
            return got.task;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task {task_id} still {:?} after {DEADLINE:?}",
            got.task.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the `list_instances` tool until some instance has `in_flight`
/// requests matching `wanted`.
async fn until_in_flight(
    client: &RunningService<RoleClient, ClientConfig>,
    wanted: impl Fn(u64) -> bool,
) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let listed = ok_value(&call(client, "list_instances", json!({})).await);
        let total: u64 = listed["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["in_flight"].as_u64().unwrap_or(0))
            .sum();
        if wanted(total) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "instances: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_task_is_working_at_once_then_completed_with_the_answer_and_listed_as_a_job() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect_with(hub.clone(), tasks_client()).await;
    let task_id = start_task(&client, "[[delay:1500]] which index?").await;

    let now = client
        .get_task(GetTaskParams::new(task_id.clone()))
        .await
        .unwrap();
    assert_eq!(now.task.status(), TaskStatus::Working);
    let said = now.task.task.status_message.clone().unwrap_or_default();
    assert!(said.contains("arangodb"), "{said}");

    // The task is the job: same id, listed by the jobs tool and the hub.
    let jobs = ok_value(&call(&client, "list_jobs", json!({})).await);
    assert_eq!(jobs["jobs"][0]["message_id"], task_id.as_str(), "{jobs}");
    assert_eq!(jobs["jobs"][0]["status"], "pending", "{jobs}");

    let done = until_terminal(&client, &task_id).await;
    let TaskPayload::Completed { result } = done.payload else {
        panic!("expected completed, got {done:?}");
    };
    // The same result a waiting send_message returns.
    let result: CallToolResult = serde_json::from_value(Value::Object(result)).unwrap();
    let outcome = ok_value(&result);
    assert_eq!(outcome["status"], "delivered");
    assert_eq!(outcome["message_id"], task_id.as_str());
    assert_eq!(outcome["target"], "arangodb");
    assert!(
        outcome["reply"].as_str().unwrap().contains("which index?"),
        "{outcome}"
    );
    assert!(text_of(&result).contains("which index?"));

    let job = hub.jobs().get(&task_id).await.unwrap();
    assert_eq!(job.status, "delivered");
    let listed = hub.jobs().list(None, None, 5).await.unwrap();
    assert_eq!(listed[0].message_id, task_id);
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_task_ends_cancelled_and_its_work_at_the_child_stops() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect_with(hub.clone(), tasks_client()).await;
    let task_id = start_task(&client, "[[hang]] long work").await;
    // The child is working on it...
    until_in_flight(&client, |n| n == 1).await;
    client
        .cancel_task(CancelTaskParams::new(task_id.clone()))
        .await
        .unwrap();
    let done = until_terminal(&client, &task_id).await;
    assert_eq!(done.status(), TaskStatus::Cancelled, "{done:?}");
    // ...and no longer.
    until_in_flight(&client, |n| n == 0).await;
    assert_eq!(hub.jobs().get(&task_id).await.unwrap().status, "cancelled");

    // A finished task cannot be cancelled again; the error names it.
    let again = client
        .cancel_task(CancelTaskParams::new(task_id.clone()))
        .await
        .unwrap_err();
    assert!(again.to_string().contains(&task_id), "{again}");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_task_cut_by_a_restart_reads_failed_and_is_not_replayed() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect_with(hub.clone(), tasks_client()).await;
    let task_id = start_task(&client, "[[hang]] cut short").await;
    client.cancel().await.unwrap();
    hub.shutdown().await;

    let next = hub_in(home.path());
    let client = connect_with(next.clone(), tasks_client()).await;
    let got = client
        .get_task(GetTaskParams::new(task_id.clone()))
        .await
        .unwrap();
    let TaskPayload::Failed { error } = got.task.payload else {
        panic!("expected failed, got {:?}", got.task);
    };
    assert_eq!(error["data"]["jobStatus"], "interrupted", "{error:?}");
    assert!(
        error["message"].as_str().unwrap().contains("stopped"),
        "{error:?}"
    );
    client.cancel().await.unwrap();
    next.shutdown().await;
}

#[tokio::test]
async fn only_send_message_becomes_a_task_and_wait_false_still_returns_the_job() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect_with(hub.clone(), tasks_client()).await;
    let listed = client
        .call_tool_once(CallToolRequestParams::new("list_modules"))
        .await
        .unwrap();
    assert!(
        matches!(listed, CallToolResponse::Complete(_)),
        "{listed:?}"
    );
    let detached = call(
        &client,
        "send_message",
        json!({"source": "marker", "target": "arangodb", "message": "hi", "wait": false}),
    )
    .await;
    assert_eq!(ok_value(&detached)["status"], "pending");
    // A send that fails before anything is stored is a tool error, as
    // without tasks.
    let unknown = call(
        &client,
        "send_message",
        json!({"source": "marker", "target": "nosuchmodule", "message": "hi"}),
    )
    .await;
    assert_eq!(unknown.is_error, Some(true));
    assert!(
        text_of(&unknown).contains("nosuchmodule"),
        "{}",
        text_of(&unknown)
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_client_without_tasks_gets_the_answer_synchronously() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let response = client
        .call_tool_once(ask("[[delay:200]] plain call"))
        .await
        .unwrap();
    let CallToolResponse::Complete(result) = response else {
        panic!("expected a complete result, got {response:?}");
    };
    let outcome = ok_value(&result);
    assert_eq!(outcome["status"], "delivered");
    assert!(outcome["reply"].as_str().unwrap().contains("plain call"));
    // And it may not use tasks/get at all.
    let refused = client
        .get_task(GetTaskParams::new(
            outcome["message_id"].as_str().unwrap().to_string(),
        ))
        .await
        .unwrap_err();
    let rmcp::ServiceError::McpError(e) = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(e.code, ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY);
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn an_unknown_task_id_is_refused_naming_it() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect_with(hub.clone(), tasks_client()).await;
    let unknown = "ffffffff-0000-no-such-task";
    let refused = client
        .get_task(GetTaskParams::new(unknown.to_string()))
        .await
        .unwrap_err();
    let rmcp::ServiceError::McpError(e) = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
    assert!(e.message.contains(unknown), "{}", e.message);
    let cancel = client
        .cancel_task(CancelTaskParams::new(unknown.to_string()))
        .await
        .unwrap_err();
    assert!(cancel.to_string().contains(unknown), "{cancel}");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}
