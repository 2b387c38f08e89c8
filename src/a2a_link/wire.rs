//! The A2A 1.0 JSON this crate speaks, as serde types: the subset of the
//! protocol's messages that a question and its answer need (the JSON
//! mapping of `a2a.proto`, camelCase fields, `TASK_STATE_*` and `ROLE_*`
//! enum names). Reading is lenient where peers differ (unknown fields are
//! ignored, absent lists are empty, 0.3's lower-case states are
//! understood); writing is exactly 1.0.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version this crate serves and speaks.
pub const PROTOCOL_VERSION: &str = "1.0";

/// The header a client names its protocol version in.
pub const VERSION_HEADER: &str = "A2A-Version";

/// One part of a message or an artifact. Only text is produced; other
/// kinds are read so that a message carrying them can be refused by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// 0.3's discriminator (`"text"`, `"file"`, `"data"`); never written.
    #[serde(default, skip_serializing)]
    pub kind: Option<String>,
}

impl Part {
    pub fn text(text: impl Into<String>) -> Part {
        Part {
            text: Some(text.into()),
            ..Part::default()
        }
    }
}

/// `ROLE_USER` (the asker) or `ROLE_AGENT` (the answering module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    #[serde(rename = "ROLE_USER", alias = "user")]
    User,
    #[serde(rename = "ROLE_AGENT", alias = "agent")]
    Agent,
    #[serde(rename = "ROLE_UNSPECIFIED")]
    Unspecified,
}

/// A message of a task's history (or a status message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(default)]
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl Message {
    /// A message of the answering agent with one text part.
    pub fn agent_text(id: String, context: &str, task: &str, text: &str) -> Message {
        Message {
            message_id: id,
            context_id: Some(context.to_string()),
            task_id: Some(task.to_string()),
            role: Role::Agent,
            parts: vec![Part::text(text)],
            metadata: None,
        }
    }

    /// The text of every text part, joined by blank lines.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self
            .parts
            .iter()
            .filter_map(|p| p.text.as_deref())
            .collect();
        texts.join("\n\n")
    }
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskState {
    #[default]
    #[serde(rename = "TASK_STATE_SUBMITTED", alias = "submitted")]
    Submitted,
    #[serde(rename = "TASK_STATE_WORKING", alias = "working")]
    Working,
    #[serde(rename = "TASK_STATE_COMPLETED", alias = "completed")]
    Completed,
    #[serde(rename = "TASK_STATE_FAILED", alias = "failed")]
    Failed,
    #[serde(rename = "TASK_STATE_CANCELED", alias = "canceled")]
    Canceled,
    #[serde(rename = "TASK_STATE_INPUT_REQUIRED", alias = "input-required")]
    InputRequired,
    #[serde(rename = "TASK_STATE_REJECTED", alias = "rejected")]
    Rejected,
    #[serde(rename = "TASK_STATE_AUTH_REQUIRED", alias = "auth-required")]
    AuthRequired,
    #[serde(
        rename = "TASK_STATE_UNSPECIFIED",
        alias = "unknown",
        alias = "unspecified"
    )]
    Unspecified,
}

impl TaskState {
    /// A state the task never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Failed | TaskState::Canceled | TaskState::Rejected
        )
    }

    /// A state in which the task waits for its client (the stream ends).
    pub fn is_interrupted(self) -> bool {
        matches!(self, TaskState::InputRequired | TaskState::AuthRequired)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatus {
    pub state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// RFC 3339, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// What the task produced: the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    #[serde(default)]
    pub artifact_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// A task: one question to a module and where its answer stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    #[serde(default)]
    pub context_id: String,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatusUpdateEvent {
    pub task_id: String,
    #[serde(default)]
    pub context_id: String,
    pub status: TaskStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskArtifactUpdateEvent {
    pub task_id: String,
    #[serde(default)]
    pub context_id: String,
    pub artifact: Artifact,
    #[serde(default)]
    pub append: bool,
    #[serde(default)]
    pub last_chunk: bool,
}

/// One event of a stream, and the result of `SendMessage` (which is a
/// task or a message only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StreamResponse {
    Task(Task),
    Message(Message),
    StatusUpdate(TaskStatusUpdateEvent),
    ArtifactUpdate(TaskArtifactUpdateEvent),
}

/// `SendMessageConfiguration`: the parts the server heeds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendConfiguration {
    /// Return the task at once instead of waiting for its answer.
    #[serde(default)]
    pub return_immediately: bool,
    /// 0.3's inverse of the above (`blocking: false`).
    #[serde(default)]
    pub blocking: Option<bool>,
}

/// The params of `SendMessage` and `SendStreamingMessage`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageParams {
    pub message: Message,
    #[serde(default)]
    pub configuration: Option<SendConfiguration>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// The params of `GetTask`, `CancelTask` and `SubscribeToTask`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskIdParams {
    pub id: String,
    #[serde(default)]
    pub history_length: Option<i64>,
}

/// An RFC 3339 UTC time of Unix milliseconds.
pub fn timestamp(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_task_is_written_in_the_1_0_json_mapping() {
        let task = Task {
            id: "t".into(),
            context_id: "c".into(),
            status: TaskStatus {
                state: TaskState::InputRequired,
                message: Some(Message::agent_text("m".into(), "c", "t", "which?")),
                timestamp: timestamp(0),
            },
            artifacts: vec![],
            history: vec![],
            metadata: None,
        };
        let written = serde_json::to_value(StreamResponse::Task(task)).unwrap();
        assert_eq!(
            written,
            json!({"task": {"id": "t", "contextId": "c", "status": {
                "state": "TASK_STATE_INPUT_REQUIRED",
                "message": {"messageId": "m", "contextId": "c", "taskId": "t",
                            "role": "ROLE_AGENT", "parts": [{"text": "which?"}]},
                "timestamp": "1970-01-01T00:00:00.000Z"}}})
        );
    }

    #[test]
    fn a_0_3_message_and_state_are_understood() {
        let message: Message = serde_json::from_value(json!({
            "kind": "message", "messageId": "m", "role": "user",
            "parts": [{"kind": "text", "text": "hi"}]
        }))
        .unwrap();
        assert_eq!((message.role, message.text()), (Role::User, "hi".into()));
        let state: TaskState = serde_json::from_value(json!("input-required")).unwrap();
        assert_eq!(state, TaskState::InputRequired);
    }
}
