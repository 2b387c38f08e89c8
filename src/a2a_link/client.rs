//! An A2A agent as claude-comms asks it: its card resolved from the
//! descriptor's URL, then one message at a time (a new question, or the
//! answer to its question back), streamed when the card says it can,
//! followed to the task's end or to its next question.

use std::time::Duration;

use serde_json::{Value, json};

use super::A2aError;
use super::http::{self, Url};
use super::wire::{Message, StreamResponse, Task, TaskState};

/// Where A2A 1.0 puts the card under an agent's base URL.
const CARD_PATH: &str = ".well-known/agent-card.json";

/// How often a task that a non-streaming agent left working is read again.
const POLL: Duration = Duration::from_millis(500);

/// Characters of an error body quoted in an error.
const DETAIL_CHARS: usize = 300;

/// An agent whose card was read.
#[derive(Debug, Clone)]
pub struct Agent {
    /// The card's name.
    pub name: String,
    /// Where the card was read.
    pub card_url: String,
    rpc: Url,
    /// The card says it streams (`capabilities.streaming`).
    pub streaming: bool,
    token: Option<String>,
}

/// What the caller learns while a message is under way: the id of the
/// task it started, as soon as the agent names it (so a question
/// cancelled mid-way can cancel the agent's task), and the agent's
/// progress (the messages of its `working` status updates).
#[derive(Default)]
pub struct Watch {
    task: std::sync::Mutex<Option<String>>,
    progress: Option<Box<dyn Fn(String) + Send + Sync>>,
}

impl Watch {
    /// A watch that hands each progress line to `progress`.
    pub fn reporting(progress: Option<Box<dyn Fn(String) + Send + Sync>>) -> Watch {
        Watch {
            task: Default::default(),
            progress,
        }
    }

    /// The task's id, once the agent named it.
    pub fn task(&self) -> Option<String> {
        self.task.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_task(&self, id: &str) {
        *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.to_string());
    }

    /// A `working` update that says something is progress.
    fn see(&self, event: &StreamResponse) {
        if let (Some(report), StreamResponse::StatusUpdate(update)) = (&self.progress, event)
            && update.status.state == TaskState::Working
            && let Some(message) = &update.status.message
        {
            let line = message.text();
            if !line.trim().is_empty() {
                report(line);
            }
        }
    }
}

/// Where a message left the task: ended, or waiting for an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub state: TaskState,
    /// The answer (completed), the question (input-required), or why
    /// (failed, rejected, canceled).
    pub text: String,
    pub context_id: Option<String>,
    pub task_id: Option<String>,
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut short: String = text.trim().chars().take(DETAIL_CHARS).collect();
    if text.trim().chars().count() > DETAIL_CHARS {
        short.push('…');
    }
    short
}

impl Agent {
    /// Reads the card at `url` (the agent's base URL, or the card's own
    /// URL when it ends in `.json`).
    pub async fn resolve(url: &str, token: Option<String>) -> Result<Agent, A2aError> {
        let given = Url::parse(url)?;
        let card_url = if given.path.ends_with(".json") {
            given
        } else {
            given.join(CARD_PATH)
        };
        let response = http::request(&card_url, token.as_deref(), None, "application/json").await?;
        let status = response.status;
        let body = response.bytes().await?;
        if status != 200 {
            return Err(A2aError::Http {
                url: card_url.text(),
                status,
                detail: excerpt(&body),
            });
        }
        let card: Value = serde_json::from_slice(&body).map_err(|e| A2aError::Card {
            url: card_url.text(),
            problem: format!("not JSON ({e})"),
        })?;
        let (name, rpc, streaming) = read_card(&card).map_err(|problem| A2aError::Card {
            url: card_url.text(),
            problem,
        })?;
        Ok(Agent {
            name,
            card_url: card_url.text(),
            rpc,
            streaming,
            token,
        })
    }

    /// Sends `text` (in `context`; to `task` when it answers the task's
    /// question) and follows the task until it ends or asks something;
    /// `watch` learns the task's id and the agent's progress on the way.
    pub async fn send(
        &self,
        text: &str,
        (context, task): (Option<&str>, Option<&str>),
        watch: &Watch,
    ) -> Result<Reply, A2aError> {
        let mut message = json!({
            "messageId": uuid::Uuid::new_v4().to_string(),
            "role": "ROLE_USER",
            "parts": [{"text": text}],
        });
        if let Some(context) = context {
            message["contextId"] = json!(context);
        }
        if let Some(task) = task {
            message["taskId"] = json!(task);
        }
        let method = if self.streaming {
            "SendStreamingMessage"
        } else {
            "SendMessage"
        };
        let mut tracker = Tracker::default();
        let params = json!({ "message": message });
        let accept = if self.streaming {
            "text/event-stream"
        } else {
            "application/json"
        };
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut response =
            http::request(&self.rpc, self.token.as_deref(), Some(&body), accept).await?;
        if response.status != 200 {
            let status = response.status;
            return Err(A2aError::Http {
                url: self.rpc.text(),
                status,
                detail: excerpt(&response.bytes().await.unwrap_or_default()),
            });
        }
        if response.content_type.contains("text/event-stream") {
            let mut pending = Vec::new();
            while let Some(data) = response.next_event(&mut pending).await? {
                let event = event_of(&data)?;
                watch.see(&event);
                tracker.see(event);
                tracker.tell(watch);
                if tracker.finished() {
                    return Ok(tracker.reply());
                }
            }
            return Err(A2aError::StreamCut(format!(
                "it ended while the task was {}",
                state_word(tracker.state)
            )));
        }
        tracker.see(event_of(&String::from_utf8_lossy(
            &response.bytes().await?,
        ))?);
        tracker.tell(watch);
        self.settle(tracker).await
    }

    /// Reads a task left working until it ends or asks something.
    async fn settle(&self, mut tracker: Tracker) -> Result<Reply, A2aError> {
        while !tracker.finished() {
            let Some(id) = tracker.task_id.clone() else {
                return Err(A2aError::Protocol(
                    "a task that is not finished came without an id".into(),
                ));
            };
            tokio::time::sleep(POLL).await;
            let body =
                json!({"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": id}});
            let response = http::request(
                &self.rpc,
                self.token.as_deref(),
                Some(&body),
                "application/json",
            )
            .await?;
            let task: Task = serde_json::from_value(rpc_result(&response.bytes().await?)?)
                .map_err(|e| A2aError::Protocol(format!("GetTask's result is not a task: {e}")))?;
            tracker.see(StreamResponse::Task(task));
        }
        Ok(tracker.reply())
    }

    /// Asks the agent to cancel `task` (a question that was cancelled
    /// here); whatever it says, it is only told.
    pub async fn cancel(&self, task: &str) {
        let body =
            json!({"jsonrpc": "2.0", "id": 3, "method": "CancelTask", "params": {"id": task}});
        let sent = http::request(
            &self.rpc,
            self.token.as_deref(),
            Some(&body),
            "application/json",
        );
        if let Err(e) = sent.await {
            tracing::info!(error = %e, "could not tell the A2A agent that its task was cancelled");
        }
    }
}

/// The name, JSON-RPC endpoint and streaming of a card (1.0's
/// `supportedInterfaces`, or 0.3's `url` and `preferredTransport`).
fn read_card(card: &Value) -> Result<(String, Url, bool), String> {
    if !card.is_object() {
        return Err("it is not a JSON object".into());
    }
    let name = card["name"].as_str().unwrap_or("agent").to_string();
    let streaming = card["capabilities"]["streaming"].as_bool().unwrap_or(false);
    let interfaces = card["supportedInterfaces"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let jsonrpc: Vec<&Value> = interfaces
        .iter()
        .filter(|i| i["protocolBinding"].as_str() == Some("JSONRPC"))
        .collect();
    let chosen = jsonrpc
        .iter()
        .find(|i| {
            i["protocolVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with('1'))
        })
        .or(jsonrpc.first());
    let (url, version) = match chosen {
        Some(i) => (
            i["url"].as_str(),
            i["protocolVersion"].as_str().unwrap_or("1.0"),
        ),
        None => match card["preferredTransport"].as_str() {
            None | Some("JSONRPC") => (
                card["url"].as_str(),
                card["protocolVersion"].as_str().unwrap_or("0.3"),
            ),
            Some(other) => {
                return Err(format!(
                    "its only transport is {other}; claude-comms speaks A2A's JSON-RPC binding"
                ));
            }
        },
    };
    let Some(url) = url else {
        return Err("it names no JSON-RPC interface (supportedInterfaces with protocolBinding \"JSONRPC\" and a url)".into());
    };
    if !version.starts_with('1') {
        return Err(format!(
            "its JSON-RPC interface speaks A2A {version}; claude-comms speaks A2A 1.0"
        ));
    }
    let rpc = Url::parse(url).map_err(|e| format!("its JSON-RPC interface: {e}"))?;
    Ok((name, rpc, streaming))
}

/// The result of a JSON-RPC answer, or the error it carries.
fn rpc_result(body: &[u8]) -> Result<Value, A2aError> {
    let mut answer: Value = serde_json::from_slice(body)
        .map_err(|e| A2aError::Protocol(format!("not JSON ({e}): {}", excerpt(body))))?;
    if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
        return Err(A2aError::Rpc {
            code: error["code"].as_i64().unwrap_or(0),
            message: error["message"]
                .as_str()
                .unwrap_or("(no message)")
                .to_string(),
        });
    }
    match answer.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(A2aError::Protocol(format!(
            "an answer with neither result nor error: {}",
            excerpt(body)
        ))),
    }
}

fn event_of(data: &str) -> Result<StreamResponse, A2aError> {
    let result = rpc_result(data.as_bytes())?;
    serde_json::from_value(result)
        .map_err(|e| A2aError::Protocol(format!("not a task, message or task update: {e}")))
}

fn state_word(state: TaskState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// What the events so far say about the task.
#[derive(Default)]
struct Tracker {
    state: TaskState,
    context_id: Option<String>,
    task_id: Option<String>,
    /// Artifact id → its text so far, in order.
    artifacts: Vec<(String, String)>,
    status_text: Option<String>,
}

impl Tracker {
    fn see(&mut self, event: StreamResponse) {
        match event {
            StreamResponse::Task(task) => {
                self.ids(&task.context_id, &task.id);
                self.state = task.status.state;
                self.status_text = task.status.message.as_ref().map(Message::text);
                for artifact in task.artifacts {
                    let text: String = artifact
                        .parts
                        .iter()
                        .filter_map(|p| p.text.clone())
                        .collect();
                    self.artifact(artifact.artifact_id, text, false);
                }
                if self.artifacts.is_empty()
                    && self.status_text.is_none()
                    && let Some(last) = task
                        .history
                        .iter()
                        .rev()
                        .find(|m| m.role == super::wire::Role::Agent)
                {
                    self.status_text = Some(last.text());
                }
            }
            StreamResponse::Message(message) => {
                // An agent that answers with a message has finished.
                if let Some(context) = &message.context_id {
                    self.context_id = Some(context.clone());
                }
                self.state = TaskState::Completed;
                self.status_text = Some(message.text());
            }
            StreamResponse::StatusUpdate(update) => {
                self.ids(&update.context_id, &update.task_id);
                self.state = update.status.state;
                if let Some(message) = &update.status.message {
                    self.status_text = Some(message.text());
                }
            }
            StreamResponse::ArtifactUpdate(update) => {
                self.ids(&update.context_id, &update.task_id);
                let text: String = update
                    .artifact
                    .parts
                    .iter()
                    .filter_map(|p| p.text.clone())
                    .collect();
                self.artifact(update.artifact.artifact_id, text, update.append);
            }
        }
    }

    /// Tells `watch` the task's id, once known.
    fn tell(&self, watch: &Watch) {
        if let Some(id) = &self.task_id {
            watch.set_task(id);
        }
    }

    fn ids(&mut self, context: &str, task: &str) {
        if !context.is_empty() {
            self.context_id = Some(context.to_string());
        }
        if !task.is_empty() {
            self.task_id = Some(task.to_string());
        }
    }

    fn artifact(&mut self, id: String, text: String, append: bool) {
        match self.artifacts.iter_mut().find(|(known, _)| *known == id) {
            Some((_, kept)) if append => kept.push_str(&text),
            Some((_, kept)) => *kept = text,
            None => self.artifacts.push((id, text)),
        }
    }

    fn finished(&self) -> bool {
        self.state.is_terminal() || self.state.is_interrupted()
    }

    fn reply(self) -> Reply {
        let artifacts: Vec<String> = self.artifacts.into_iter().map(|(_, t)| t).collect();
        let text = if self.state == TaskState::Completed && !artifacts.is_empty() {
            artifacts.join("\n\n")
        } else {
            self.status_text.unwrap_or_default()
        };
        Reply {
            state: self.state,
            text,
            context_id: self.context_id,
            task_id: self.task_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_names_its_json_rpc_interface_in_1_0_or_0_3_words() {
        let v1 = json!({"name": "v", "capabilities": {"streaming": true},
            "supportedInterfaces": [{"url": "http://127.0.0.1:9/g", "protocolBinding": "GRPC"},
                                    {"url": "http://127.0.0.1:9/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}]});
        let (name, rpc, streaming) = read_card(&v1).unwrap();
        assert_eq!(
            (name.as_str(), rpc.path.as_str(), streaming),
            ("v", "/rpc", true)
        );
        let old = json!({"name": "o", "url": "http://127.0.0.1:9/", "protocolVersion": "0.3.0"});
        assert!(read_card(&old).unwrap_err().contains("speaks A2A 0.3.0"));
        let far = json!({"supportedInterfaces": [{"url": "http://10.1.2.3/rpc", "protocolBinding": "JSONRPC"}]});
        assert!(
            read_card(&far)
                .unwrap_err()
                .contains("not a loopback address")
        );
        assert!(
            read_card(&json!({"name": "x"}))
                .unwrap_err()
                .contains("names no JSON-RPC interface")
        );
        assert!(
            read_card(&json!([1]))
                .unwrap_err()
                .contains("not a JSON object")
        );
    }

    #[test]
    fn a_stream_of_updates_becomes_one_reply() {
        let mut tracker = Tracker::default();
        let events = [
            json!({"task": {"id": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}}),
            json!({"artifactUpdate": {"taskId": "t", "contextId": "c", "artifact": {"artifactId": "a", "parts": [{"text": "hel"}]}}}),
            json!({"artifactUpdate": {"taskId": "t", "contextId": "c", "append": true, "artifact": {"artifactId": "a", "parts": [{"text": "lo"}]}}}),
            json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"}}}),
        ];
        for event in events {
            assert!(!tracker.finished());
            tracker.see(serde_json::from_value(event).unwrap());
        }
        assert!(tracker.finished());
        let reply = tracker.reply();
        assert_eq!(
            (reply.text.as_str(), reply.context_id.as_deref()),
            ("hello", Some("c"))
        );
    }
}
