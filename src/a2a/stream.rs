//! `SendStreamingMessage` and `SubscribeToTask`: Server-Sent Events, each
//! a JSON-RPC answer whose result is a `StreamResponse`. The stream opens
//! with the task, then sends a status update at every change of state
//! (working, input-required, completed, failed, canceled) and the answer
//! as an artifact before `completed`; it ends when the task ends or asks
//! something back (answer with a message carrying its `taskId`, then
//! subscribe again). A client that goes away ends the stream, not the
//! task.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use serde_json::Value;

use super::rpc;
use super::tasks::{Asking, task_of, visible_task};
use super::wire::{StreamResponse, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent};
use crate::hub::{Hub, MAX_WAIT};

/// How long the stream waits for a change before it sends a comment: a
/// proxy keeps the connection open, and a client that left is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events buffered for a slow client before the follower waits for it.
const BUFFERED_EVENTS: usize = 8;

/// The SSE response that follows task `id` from its state now.
pub fn follow(hub: Arc<Hub>, asking: Asking, rpc_id: Value, id: String, first: Task) -> Response {
    let (sender, body) = Channel::<Bytes, Infallible>::new(BUFFERED_EVENTS);
    hub.clone().spawn_until_shutdown(async move {
        let mut events = Events { sender, rpc_id };
        if let Err(Gone) = run(&hub, &asking, &mut events, &id, first).await {
            tracing::debug!(task = %id, "an A2A stream's client went away; the task goes on");
        }
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::new(body),
    )
        .into_response()
}

/// The client went away.
struct Gone;

struct Events {
    sender: Sender<Bytes, Infallible>,
    rpc_id: Value,
}

impl Events {
    async fn send(&mut self, event: StreamResponse) -> Result<(), Gone> {
        let line = rpc::result(&self.rpc_id, event);
        self.raw(format!("data: {line}\n\n")).await
    }

    async fn error(&mut self, error: &rpc::RpcError) -> Result<(), Gone> {
        let line = rpc::error(&self.rpc_id, error);
        self.raw(format!("data: {line}\n\n")).await
    }

    async fn raw(&mut self, text: String) -> Result<(), Gone> {
        self.sender
            .send_data(Bytes::from(text))
            .await
            .map_err(|_| Gone)
    }
}

fn status_update(task: &Task) -> StreamResponse {
    StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
        task_id: task.id.clone(),
        context_id: task.context_id.clone(),
        status: task.status.clone(),
    })
}

async fn run(
    hub: &Hub,
    asking: &Asking,
    events: &mut Events,
    id: &str,
    first: Task,
) -> Result<(), Gone> {
    let mut state = first.status.state;
    let ends = |t: &Task| t.status.state.is_terminal() || t.status.state.is_interrupted();
    let done = ends(&first);
    let mut last = first.clone();
    events.send(StreamResponse::Task(first)).await?;
    if done {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + MAX_WAIT;
    while tokio::time::Instant::now() < deadline {
        if let Err(e) = hub.wait_job(id, KEEP_ALIVE).await {
            return events.error(&super::tasks::rpc_error(&e)).await;
        }
        let task = match visible_task(hub, asking, id).await {
            Ok(detail) => task_of(&detail, None),
            Err(e) => return events.error(&e).await,
        };
        if task.status.state == state {
            events.raw(": keep-alive\n\n".into()).await?;
            continue;
        }
        state = task.status.state;
        for artifact in &task.artifacts {
            events
                .send(StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
                    task_id: task.id.clone(),
                    context_id: task.context_id.clone(),
                    artifact: artifact.clone(),
                    append: false,
                    last_chunk: true,
                }))
                .await?;
        }
        events.send(status_update(&task)).await?;
        if ends(&task) {
            return Ok(());
        }
        last = task;
    }
    // Followed as long as a waiting call may wait: the task goes on.
    events.send(status_update(&last)).await
}
