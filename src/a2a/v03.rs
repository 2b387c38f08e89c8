//! A2A 0.3's JSON-RPC names (`message/send`, `message/stream`,
//! `tasks/get`, `tasks/cancel`, `tasks/resubscribe`; `rpc.rs` maps them),
//! answered in 0.3's JSON: the same work as the 1.0 methods, with the
//! results rewritten at the edge (a `kind` on every object, lower-case
//! states and roles, the task itself instead of `{"task": ...}`, `final`
//! on status updates).
//! Requests need no rewriting: the wire types read 0.3's words too.

use serde_json::{Map, Value, json};

/// `TASK_STATE_INPUT_REQUIRED` → `input-required`.
fn state(value: &Value) -> Value {
    let word = value.as_str().unwrap_or("");
    let short = word.strip_prefix("TASK_STATE_").unwrap_or(word);
    json!(short.to_ascii_lowercase().replace('_', "-"))
}

fn parts(value: &mut Value) {
    for part in value.as_array_mut().into_iter().flatten() {
        if let Some(object) = part.as_object_mut()
            && object.contains_key("text")
        {
            object.insert("kind".into(), json!("text"));
        }
    }
}

fn message(mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.insert("kind".into(), json!("message"));
        let role = match object.get("role").and_then(Value::as_str) {
            Some("ROLE_AGENT") => "agent",
            _ => "user",
        };
        object.insert("role".into(), json!(role));
        if let Some(p) = object.get_mut("parts") {
            parts(p);
        }
    }
    value
}

fn status(object: &mut Map<String, Value>) -> bool {
    let Some(status) = object.get_mut("status").and_then(Value::as_object_mut) else {
        return false;
    };
    let word = state(status.get("state").unwrap_or(&Value::Null));
    let ends = matches!(
        word.as_str(),
        Some("completed" | "failed" | "canceled" | "rejected" | "input-required" | "auth-required")
    );
    status.insert("state".into(), word);
    if let Some(m) = status.remove("message") {
        status.insert("message".into(), message(m));
    }
    ends
}

fn task(mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.insert("kind".into(), json!("task"));
        status(object);
        if let Some(history) = object.get_mut("history").and_then(Value::as_array_mut) {
            for m in history.iter_mut() {
                *m = message(m.take());
            }
        }
        for artifact in object
            .get_mut("artifacts")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(p) = artifact.get_mut("parts") {
                parts(p);
            }
        }
    }
    value
}

/// A 1.0 result (a task, a `SendMessage` or stream response) in 0.3's
/// JSON.
pub fn result(value: Value) -> Value {
    let Value::Object(mut object) = value else {
        return value;
    };
    if let Some(inner) = object.remove("task") {
        return task(inner);
    }
    if let Some(inner) = object.remove("message") {
        return message(inner);
    }
    if let Some(Value::Object(mut update)) = object.remove("statusUpdate") {
        update.insert("kind".into(), json!("status-update"));
        let ends = status(&mut update);
        update.insert("final".into(), json!(ends));
        return Value::Object(update);
    }
    if let Some(Value::Object(mut update)) = object.remove("artifactUpdate") {
        update.insert("kind".into(), json!("artifact-update"));
        if let Some(p) = update.get_mut("artifact").and_then(|a| a.get_mut("parts")) {
            parts(p);
        }
        return Value::Object(update);
    }
    // A task itself (GetTask, CancelTask).
    task(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_rewritten_in_0_3_words() {
        let sent = result(json!({"task": {"id": "t", "contextId": "c",
            "status": {"state": "TASK_STATE_INPUT_REQUIRED",
                       "message": {"messageId": "m", "role": "ROLE_AGENT", "parts": [{"text": "which?"}]}}}}));
        assert_eq!(
            sent,
            json!({"kind": "task", "id": "t", "contextId": "c",
                "status": {"state": "input-required",
                    "message": {"kind": "message", "messageId": "m", "role": "agent",
                                "parts": [{"kind": "text", "text": "which?"}]}}})
        );
        let update = result(json!({"statusUpdate": {"taskId": "t", "contextId": "c",
            "status": {"state": "TASK_STATE_WORKING"}}}));
        assert_eq!(update["kind"], "status-update");
        assert_eq!(
            (update["status"]["state"].clone(), update["final"].clone()),
            (json!("working"), json!(false))
        );
    }
}
