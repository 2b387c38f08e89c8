//! Exports of one conversation: JSON (one document), JSON Lines (one object
//! per line, conversation first) and Markdown (for people).
//!
//! An export holds only what is stored about the conversation (its
//! messages and metadata), never configuration or environment, so it
//! carries no secrets that claude-comms knows of.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::model::{Conversation, Message};
use super::{Result, StoreError};

/// Identifies our JSON exports, so a reader can tell them from other JSON.
const FORMAT_NAME: &str = "claude-comms.conversation";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Jsonl,
    Markdown,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Markdown => "markdown",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "json" => Ok(ExportFormat::Json),
            "jsonl" => Ok(ExportFormat::Jsonl),
            "markdown" | "md" => Ok(ExportFormat::Markdown),
            other => Err(StoreError::BadValue(format!(
                "unknown export format \"{other}\" (one of: json, jsonl, markdown)"
            ))),
        }
    }
}

/// A parsed JSON or JSON Lines export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedConversation {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
}

/// `conversation` and its `messages` in `format` (read, and stale replies
/// marked, by the caller).
pub fn render_export(
    conversation: &Conversation,
    messages: &[Message],
    format: ExportFormat,
) -> Result<String> {
    let to_text =
        |v: &Value| serde_json::to_string(v).map_err(|e| StoreError::Export(e.to_string()));
    match format {
        ExportFormat::Json => serde_json::to_string_pretty(&json!({
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "conversation": timed(conversation)?,
            "messages": messages.iter().map(timed).collect::<Result<Vec<_>>>()?,
        }))
        .map_err(|e| StoreError::Export(e.to_string())),
        ExportFormat::Jsonl => {
            let mut lines = Vec::with_capacity(messages.len() + 1);
            let mut head = timed(conversation)?;
            head["type"] = json!("conversation");
            head["format"] = json!(FORMAT_NAME);
            head["version"] = json!(FORMAT_VERSION);
            lines.push(to_text(&head)?);
            for m in messages {
                let mut line = timed(m)?;
                line["type"] = json!("message");
                lines.push(to_text(&line)?);
            }
            Ok(lines.join("\n") + "\n")
        }
        ExportFormat::Markdown => Ok(markdown(conversation, messages)),
    }
}

/// The suffix of the RFC 3339 copy of a time field (`created_at` →
/// `created_at_rfc3339`): exports carry both, the milliseconds for programs
/// and the text for people and for tools that read dates. Import reads the
/// milliseconds (the copy may be missing, as in older exports).
const RFC3339_SUFFIX: &str = "_rfc3339";

/// Adds an RFC 3339 copy beside each `*_at` field of Unix milliseconds.
fn add_rfc3339(value: &mut Value) {
    let Some(object) = value.as_object_mut() else {
        return;
    };
    let copies: Vec<(String, Value)> = object
        .iter()
        .filter(|(key, _)| key.ends_with("_at"))
        .filter_map(|(key, v)| {
            Some((
                format!("{key}{RFC3339_SUFFIX}"),
                json!(rfc3339(v.as_i64()?)),
            ))
        })
        .collect();
    object.extend(copies);
}

/// Drops the RFC 3339 copies before an exported object is read back.
fn drop_rfc3339(value: &mut Value) {
    if let Some(object) = value.as_object_mut() {
        object.retain(|key, _| !key.ends_with(RFC3339_SUFFIX));
    }
}

/// A stored row as exported: its fields, and the RFC 3339 copies.
fn timed<T: Serialize>(row: &T) -> Result<Value> {
    let mut value = serde_json::to_value(row).map_err(|e| StoreError::Export(e.to_string()))?;
    add_rfc3339(&mut value);
    Ok(value)
}

/// Reads a JSON or JSON Lines export back.
pub fn parse_export(text: &str) -> Result<ExportedConversation> {
    let bad =
        |e: &dyn std::fmt::Display| StoreError::Export(format!("not a claude-comms export: {e}"));
    let trimmed = text.trim_start();
    // The JSON form is one document holding "conversation"; a JSON Lines
    // export of an empty conversation is one line too, but it is the
    // conversation itself.
    if let Ok(doc) = serde_json::from_str::<Value>(trimmed)
        && doc.get("format").and_then(Value::as_str) == Some(FORMAT_NAME)
        && doc.get("conversation").is_some()
    {
        let read = |mut v: Value| {
            drop_rfc3339(&mut v);
            v
        };
        let messages = match &doc["messages"] {
            Value::Array(items) => Value::Array(items.iter().cloned().map(read).collect()),
            other => other.clone(),
        };
        return Ok(ExportedConversation {
            conversation: serde_json::from_value(read(doc["conversation"].clone()))
                .map_err(|e| bad(&e))?,
            messages: serde_json::from_value(messages).map_err(|e| bad(&e))?,
        });
    }
    let mut lines = trimmed.lines().filter(|l| !l.trim().is_empty());
    let strip = |line: &str| -> Result<Value> {
        let mut v: Value = serde_json::from_str(line).map_err(|e| bad(&e))?;
        if let Some(o) = v.as_object_mut() {
            o.remove("type");
            o.remove("format");
            o.remove("version");
        }
        drop_rfc3339(&mut v);
        Ok(v)
    };
    let head = lines.next().ok_or_else(|| bad(&"empty"))?;
    let conversation = serde_json::from_value(strip(head)?).map_err(|e| bad(&e))?;
    let messages = lines
        .map(|l| serde_json::from_value(strip(l)?).map_err(|e| bad(&e)))
        .collect::<Result<Vec<Message>>>()?;
    Ok(ExportedConversation {
        conversation,
        messages,
    })
}

fn markdown(c: &Conversation, messages: &[Message]) -> String {
    let title = c
        .title
        .clone()
        .unwrap_or_else(|| format!("{} → {}", c.source, c.target));
    let mut out = format!("# {title}\n\n");
    out.push_str(&format!("- conversation: `{}`\n", c.id));
    out.push_str(&format!("- asking module: {}\n", c.source));
    out.push_str(&format!("- answering module: {}\n", c.target));
    out.push_str(&format!("- status: {}\n", c.status.as_str()));
    out.push_str(&format!("- created: {}\n", rfc3339(c.created_at)));
    out.push_str(&format!("- messages: {}\n", messages.len()));
    for m in messages {
        out.push_str(&format!(
            "\n## {}. {} ({}, {}) — {}\n\n",
            m.seq,
            m.sender,
            m.role.as_str(),
            m.status.as_str(),
            rfc3339(m.created_at)
        ));
        let fence = "`".repeat(longest_backtick_run(&m.content).max(2) + 1);
        out.push_str(&format!("{fence}text\n{}\n{fence}\n", m.content.trim_end()));
        if let Some(line) = module_line(m) {
            out.push_str(&line);
        }
        if !m.tool_uses.is_empty() {
            let lines: Vec<String> = m.tool_uses.iter().map(tool_use_line).collect();
            let text = lines.join("\n");
            let fence = "`".repeat(longest_backtick_run(&text).max(2) + 1);
            out.push_str(&format!("\nTool uses:\n\n{fence}text\n{text}\n{fence}\n"));
        }
    }
    out
}

/// For a reply: the commit it describes, and whether it is stale.
fn module_line(m: &Message) -> Option<String> {
    let commit = m.module_commit.as_deref()?;
    let short = commit.get(..12).unwrap_or(commit);
    let dirty = if m.module_dirty == Some(true) {
        " (with uncommitted changes)"
    } else {
        ""
    };
    let mut line = format!("\nAnswered at commit `{short}`{dirty}");
    if let Some(reused) = &m.reused_from {
        line.push_str(&format!("; reuses reply `{reused}`"));
    }
    if let Some(stale) = &m.stale {
        let commits = stale
            .commits
            .map_or("an unknown number of".to_string(), |n| n.to_string());
        line.push_str(&format!(
            ". **Stale**: {commits} commits since, {} files changed",
            stale.files_changed
        ));
        if !stale.files.is_empty() {
            line.push_str(&format!(" ({})", stale.files.join(", ")));
        }
    }
    line.push_str(".\n");
    Some(line)
}

/// One tool use on one line (a multi-line command keeps its `\n`s visible).
pub fn tool_use_line(used: &crate::store::ToolUse) -> String {
    let mut line = used.to_string();
    if used.outcome != crate::store::ToolOutcome::Allowed
        && let Some(why) = &used.detail
    {
        line.push_str(&format!(" — {why}"));
    }
    line.replace('\r', "\\r").replace('\n', "\\n")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

pub(crate) use crate::time::rfc3339;

/// An import is a write like any other: the same limits apply to every
/// stored field (message bodies excepted, as everywhere in the store).
pub(crate) fn check_imported(exported: &ExportedConversation) -> Result<()> {
    use super::limits::{self, MAX_IDEMPOTENCY_KEY_BYTES, MAX_METADATA_BYTES, MAX_NOTE_BYTES};
    let c = &exported.conversation;
    limits::check_name("id", &c.id)?;
    limits::check_name("source", &c.source)?;
    limits::check_name("target", &c.target)?;
    limits::check_opt_len("title", c.title.as_deref(), limits::MAX_TITLE_BYTES)?;
    limits::check_opt_len(
        "backend_session",
        c.backend_session.as_deref(),
        limits::MAX_NAME_BYTES,
    )?;
    limits::check_len("metadata", &c.metadata.to_string(), MAX_METADATA_BYTES)?;
    for m in &exported.messages {
        limits::check_name("id", &m.id)?;
        limits::check_name("sender", &m.sender)?;
        limits::check_opt_len(
            "instance_id",
            m.instance_id.as_deref(),
            limits::MAX_NAME_BYTES,
        )?;
        limits::check_opt_len(
            "template_version",
            m.template_version.as_deref(),
            limits::MAX_NAME_BYTES,
        )?;
        limits::check_opt_len(
            "idempotency_key",
            m.idempotency_key.as_deref(),
            MAX_IDEMPOTENCY_KEY_BYTES,
        )?;
        limits::check_opt_len("context_note", m.context_note.as_deref(), MAX_NOTE_BYTES)?;
        limits::check_opt_len("error", m.error.as_deref(), MAX_NOTE_BYTES)?;
        limits::check_opt_len("reply_to", m.reply_to.as_deref(), limits::MAX_NAME_BYTES)?;
        limits::check_opt_len("owner", m.owner.as_deref(), limits::MAX_NAME_BYTES)?;
        limits::check_hop_chain(&m.hop_chain)?;
        limits::check_opt_len(
            "module_commit",
            m.module_commit.as_deref(),
            limits::MAX_NAME_BYTES,
        )?;
        limits::check_opt_len(
            "reused_from",
            m.reused_from.as_deref(),
            limits::MAX_NAME_BYTES,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod rfc3339_tests {
    use super::super::sqlite::SqliteStore;
    use super::*;

    // The format is the backend's business only through `render`: the
    // SQLite backend serves as the source of a real conversation here.
    fn store_with_a_conversation() -> (tempfile::TempDir, SqliteStore, Conversation) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db/test.db")).unwrap();
        let c = store
            .create_conversation("marker", "arangodb", None, json!({}))
            .unwrap();
        (dir, store, c)
    }

    #[test]
    fn json_exports_carry_rfc3339_times_beside_the_milliseconds() {
        let (_dir, store, c) = store_with_a_conversation();
        let json: Value =
            serde_json::from_str(&store.export(&c.id, ExportFormat::Json).unwrap()).unwrap();
        let head = &json["conversation"];
        assert_eq!(head["created_at"], json!(c.created_at), "the ms stay");
        assert_eq!(head["created_at_rfc3339"], json!(rfc3339(c.created_at)));
        assert_eq!(head["updated_at_rfc3339"], json!(rfc3339(c.updated_at)));
        let text = head["created_at_rfc3339"].as_str().unwrap();
        let parsed = chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339");
        assert_eq!(parsed.timestamp_millis(), c.created_at);

        let jsonl = store.export(&c.id, ExportFormat::Jsonl).unwrap();
        let line: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        assert_eq!(line["created_at_rfc3339"], json!(rfc3339(c.created_at)));
    }

    #[test]
    fn import_reads_exports_with_and_without_the_rfc3339_times() {
        let (_dir, store, c) = store_with_a_conversation();
        for format in [ExportFormat::Json, ExportFormat::Jsonl] {
            let new = store.export(&c.id, format).unwrap();
            assert!(new.contains("_rfc3339"), "{format:?}");
            // An export written before the copies existed.
            let mut old: Vec<Value> = match format {
                ExportFormat::Json => vec![serde_json::from_str(&new).unwrap()],
                _ => new
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect(),
            };
            for value in &mut old {
                drop_rfc3339(value);
                if let Some(head) = value.get_mut("conversation") {
                    drop_rfc3339(head);
                }
            }
            let old: String = old.iter().map(|v| format!("{v}\n")).collect();
            assert!(!old.contains("_rfc3339"));
            for text in [new.as_str(), old.as_str()] {
                let parsed = parse_export(text).unwrap();
                assert_eq!(parsed.conversation, c, "{format:?}: {text}");
            }
        }
    }
}
