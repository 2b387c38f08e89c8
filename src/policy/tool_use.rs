//! What an answering agent tried: one record per tool use, read from the
//! `claude` CLI's stream-json events (the stream backend's own output, and
//! the claude-code-mcp backend's answer when its `claude` runs through the
//! shim).

use std::collections::HashSet;

use serde_json::Value;

/// Longest target or detail kept per record, in characters.
const MAX_FIELD_CHARS: usize = 500;
/// Tool uses kept per answer: enough for any real run, and a bound on
/// what one reply can add to the database.
pub const MAX_TOOL_USES: usize = 1_000;

// The records themselves are the store's (it keeps them with each reply;
// the store never imports the policy): re-exported here, where they are
// made.
pub use crate::store::{ToolOutcome, ToolUse};

/// Follows a run's events and pairs each tool call with its result.
#[derive(Debug, Default)]
pub struct ToolUseTracker {
    pending: Vec<(String, ToolUse)>,
    done: Vec<(String, ToolUse)>,
}

impl ToolUseTracker {
    /// Takes one stream-json event; returns the tool uses it finished.
    pub fn observe(&mut self, event: &Value) -> Vec<ToolUse> {
        let blocks = event
            .pointer("/message/content")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut finished = Vec::new();
        match event.get("type").and_then(Value::as_str) {
            Some("assistant") => {
                for block in blocks.iter().filter(|b| b["type"] == "tool_use") {
                    let id = block["id"].as_str().unwrap_or_default().to_string();
                    let tool = block["name"].as_str().unwrap_or("?").to_string();
                    let record = ToolUse {
                        target: target_of(&tool, &block["input"]),
                        tool,
                        outcome: ToolOutcome::Failed,
                        detail: Some("no result".into()),
                    };
                    self.pending.push((id, record));
                }
            }
            Some("user") => {
                for block in blocks.iter().filter(|b| b["type"] == "tool_result") {
                    let id = block["tool_use_id"].as_str().unwrap_or_default();
                    let Some(i) = self.pending.iter().position(|(p, _)| p == id) else {
                        continue;
                    };
                    let (id, mut record) = self.pending.remove(i);
                    let text = result_text(&block["content"]);
                    if block["is_error"].as_bool() == Some(true) {
                        record.outcome = if is_refusal(&text) {
                            ToolOutcome::Refused
                        } else {
                            ToolOutcome::Failed
                        };
                        record.detail = Some(first_line(&text));
                    } else {
                        record.outcome = ToolOutcome::Allowed;
                        record.detail = None;
                    }
                    finished.push(record.clone());
                    self.done.push((id, record));
                }
            }
            Some("result") => {
                // The CLI's own list of what it refused.
                let denied: HashSet<&str> = event
                    .get("permission_denials")
                    .and_then(Value::as_array)
                    .map(|d| d.iter().filter_map(|d| d["tool_use_id"].as_str()).collect())
                    .unwrap_or_default();
                for (id, record) in self.done.iter_mut().chain(self.pending.iter_mut()) {
                    if denied.contains(id.as_str()) {
                        record.outcome = ToolOutcome::Refused;
                    }
                }
            }
            _ => {}
        }
        finished
    }

    /// Every tool use seen, in the order the agent made them.
    pub fn finish(self) -> Vec<ToolUse> {
        let mut all = self.done;
        all.extend(self.pending);
        all.into_iter()
            .take(MAX_TOOL_USES)
            .map(|(_, r)| r)
            .collect()
    }
}

/// A whole run read from the CLI's stream-json output (the claude-code-mcp
/// backend gets it as one text).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRun {
    pub text: String,
    pub is_error: bool,
    pub session_id: Option<String>,
    pub usage: Option<Value>,
    pub cost_usd: Option<f64>,
    pub tool_uses: Vec<ToolUse>,
}

/// Reads stream-json output; `None` unless it holds a `result` event.
pub fn parse_stream_output(output: &str) -> Option<StreamRun> {
    let mut tracker = ToolUseTracker::default();
    let mut result = None;
    for line in output.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        tracker.observe(&event);
        if event["type"] == "result" {
            result = Some(event);
        }
    }
    let result = result?;
    Some(StreamRun {
        text: result["result"].as_str().unwrap_or_default().to_string(),
        is_error: result["is_error"].as_bool() == Some(true),
        session_id: result["session_id"].as_str().map(str::to_string),
        usage: result.get("usage").cloned(),
        cost_usd: result["total_cost_usd"].as_f64(),
        tool_uses: tracker.finish(),
    })
}

/// A one-line account of what was refused, for an answer's metadata and
/// progress; `None` when nothing was.
pub fn refused_summary(uses: &[ToolUse]) -> Option<String> {
    let refused: Vec<String> = uses
        .iter()
        .filter(|u| u.outcome == ToolOutcome::Refused)
        .map(|u| match &u.target {
            Some(t) => format!("{} {t}", u.tool),
            None => u.tool.clone(),
        })
        .collect();
    (!refused.is_empty()).then(|| {
        format!(
            "the module's policy refused {} tool use(s): {}",
            refused.len(),
            refused.join("; ")
        )
    })
}

/// Texts by which the CLI says a tool use was refused by its permissions
/// (`dontAsk` mode, a deny rule, or a tool outside the tool set).
fn is_refusal(text: &str) -> bool {
    [
        "has been denied",
        "denied by your permission settings",
        "No such tool available",
        "is not enabled in this context",
    ]
    .iter()
    .any(|marker| text.contains(marker))
}

fn target_of(tool: &str, input: &Value) -> Option<String> {
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    let found = ["file_path", "notebook_path", "command", "url", "query"]
        .iter()
        .find_map(|k| field(k).map(str::to_string))
        .or_else(|| match (field("pattern"), field("path")) {
            (Some(p), Some(path)) => Some(format!("{p:?} in {path}")),
            (Some(p), None) => Some(format!("{p:?}")),
            (None, Some(path)) => Some(path.to_string()),
            (None, None) => None,
        })
        .or_else(|| {
            // An unknown tool: its input, so a person can still tell what it was.
            (tool.starts_with("mcp__") && input.is_object()).then(|| input.to_string())
        });
    found.map(|t| clip(&t))
}

fn result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let line = line
        .trim_start_matches("<tool_use_error>")
        .trim_end_matches("</tool_use_error>");
    // The CLI's refusal goes on with advice for the model; the first
    // sentence is what a person needs.
    let line = match line.find(". ") {
        Some(i) if line.contains("has been denied") => &line[..=i],
        _ => line,
    };
    clip(line.trim())
}

fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_FIELD_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_FIELD_CHARS).collect();
    out.push('…');
    out
}
