//! `SendStreamingMessage` and `SubscribeToTask`: Server-Sent Events, each
//! a JSON-RPC answer whose result is a `StreamResponse`. The stream opens
//! with the task, then sends a status update at every change of state
//! (working, input-required, completed, failed, canceled) and at every
//! progress line of the agent (a `working` update whose message says what
//! it does: its words, its tool uses, how long it has been), the answer
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
use tokio::sync::mpsc;

use super::rpc;
use super::tasks::{Asking, task_of, visible_task};
use super::wire::{
    Message, StreamResponse, Task, TaskArtifactUpdateEvent, TaskState, TaskStatus,
    TaskStatusUpdateEvent, timestamp,
};
use crate::hub::{Hub, MAX_WAIT};

/// How long the stream waits for a change before it sends a comment: a
/// proxy keeps the connection open, and a client that left is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events buffered for a slow client before the follower waits for it.
const BUFFERED_EVENTS: usize = 8;

/// Progress lines kept for a stream that has not sent them yet; more are
/// dropped (the next change of state still goes out).
const BUFFERED_PROGRESS: usize = 32;

/// A progress sink for a job and the receiver its stream reads.
pub fn progress_channel() -> (crate::hub::ProgressSink, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel(BUFFERED_PROGRESS);
    let sink: crate::hub::ProgressSink = Arc::new(move |p: crate::hub::Progress| {
        let _ = tx.try_send(p.message);
    });
    (sink, rx)
}

/// The SSE response that follows task `id` from its state now (`first`),
/// with the agent's `progress` when the job reports it.
pub fn follow(
    hub: Arc<Hub>,
    asking: Asking,
    (rpc_id, legacy): (Value, bool),
    (id, first): (String, Task),
    progress: Option<mpsc::Receiver<String>>,
) -> Response {
    let (sender, body) = Channel::<Bytes, Infallible>::new(BUFFERED_EVENTS);
    hub.clone().spawn_until_shutdown(async move {
        let mut events = Events {
            sender,
            rpc_id,
            legacy,
        };
        let followed = run(&hub, &asking, &mut events, (&id, first), progress).await;
        if let Err(Gone) = followed {
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
    /// Asked by a 0.3 name: events in 0.3's JSON.
    legacy: bool,
}

impl Events {
    async fn send(&mut self, event: StreamResponse) -> Result<(), Gone> {
        let event = serde_json::to_value(event).unwrap_or_default();
        let event = if self.legacy {
            super::v03::result(event)
        } else {
            event
        };
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

/// A progress line as a `working` status update of `task`.
fn progress_update(task: &Task, line: String) -> StreamResponse {
    StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
        task_id: task.id.clone(),
        context_id: task.context_id.clone(),
        status: TaskStatus {
            state: TaskState::Working,
            message: Some(Message::agent_text(
                uuid::Uuid::new_v4().to_string(),
                &task.context_id,
                &task.id,
                &line,
            )),
            timestamp: timestamp(crate::time::now_ms()),
        },
    })
}

async fn run(
    hub: &Hub,
    asking: &Asking,
    events: &mut Events,
    (id, first): (&str, Task),
    mut progress: Option<mpsc::Receiver<String>>,
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
        let line = async {
            match progress.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            waited = hub.jobs().wait(id, KEEP_ALIVE) => {
                if let Err(e) = waited {
                    return events.error(&super::tasks::rpc_error(&e)).await;
                }
            }
            line = line => {
                match line {
                    Some(line) if state == TaskState::Working => {
                        events.send(progress_update(&last, line)).await?;
                    }
                    Some(_) => {}
                    // The job is done with its sink: no more progress.
                    None => progress = None,
                }
                continue;
            }
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
