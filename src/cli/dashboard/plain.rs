//! `monitor` when stdout is not a terminal (`monitor | grep busy`): one
//! line per instance and per message, the current state first, then a line
//! for every change, until interrupted. Grep-friendly: every line starts
//! with what it is about. With `--json`, one JSON object per line instead.

use std::collections::HashMap;

use super::data::{InstanceView, Snapshot};
use crate::cli::output::Output;
use crate::hub::{Hub, MessageActivity};

pub async fn run(hub: &Hub, out: &Output) -> anyhow::Result<i32> {
    let mut seen_instances: HashMap<String, String> = HashMap::new();
    let mut seen_messages: HashMap<String, String> = HashMap::new();
    if !out.json {
        for warning in hub.maintenance().policy_warnings() {
            out.line(format!("warning {warning}"))?;
        }
    }
    let mut tick = tokio::time::interval(super::terminal::REFRESH);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => return Ok(0),
        }
        let snapshot = Snapshot::read(hub).await?;
        for view in &snapshot.instances {
            let line = instance_line(view);
            if seen_instances.get(&view.row.instance.id) != Some(&line) {
                if out.json {
                    out.line(serde_json::to_string(&view.row)?)?;
                } else {
                    out.line(&line)?;
                }
                seen_instances.insert(view.row.instance.id.clone(), line);
            }
        }
        for activity in snapshot.messages.iter().rev() {
            let mut line = message_line(activity);
            if snapshot.waiting.contains(&activity.message.id) {
                line.push_str(&format!(
                    " (input_required: its agent waits for your answer: claude-comms jobs answer {} TEXT)",
                    activity.message.id
                ));
            }
            if seen_messages.get(&activity.message.id) != Some(&line) {
                if out.json {
                    out.line(serde_json::to_string(activity)?)?;
                } else {
                    out.line(&line)?;
                }
                seen_messages.insert(activity.message.id.clone(), line);
            }
        }
    }
}

/// `instance ID BACKEND STATE pid=.. pair=.. served=.. ...`; no times, so a
/// line changes only when something about the instance did.
pub fn instance_line(view: &InstanceView) -> String {
    let i = &view.row.instance;
    format!(
        "instance {}{} {} {}{} pid={} pair={} served={} in_flight={} queued={} restarts={}{}",
        i.id,
        i.name
            .as_deref()
            .map(|n| format!(" name={n}"))
            .unwrap_or_default(),
        i.backend,
        i.state,
        if view.row.server_alive {
            ""
        } else {
            " (server dead)"
        },
        i.pid.map_or("-".into(), |p| p.to_string()),
        i.module_pair.as_deref().unwrap_or("-"),
        i.requests_served,
        i.in_flight,
        i.queued,
        i.restarts,
        i.last_error
            .as_deref()
            .map(|e| format!(" error={}", e.replace('\n', " ")))
            .unwrap_or_default()
    )
}

/// `message CONVERSATION#SEQ SOURCE->TARGET ROLE STATUS [stale (...)]
/// [duration] first line`.
pub fn message_line(a: &MessageActivity) -> String {
    let m = &a.message;
    format!(
        "message {}#{} {}->{} {} {}{}{} {}",
        m.conversation_id,
        m.seq,
        a.source,
        a.target,
        m.role.as_str(),
        m.status.as_str(),
        stale_note(m),
        m.duration_ms
            .map(|d| format!(" {}", crate::cli::when::duration_ms(d)))
            .unwrap_or_default(),
        m.content.lines().next().unwrap_or("")
    )
}

/// ` stale (N commits, M files)` for a reply whose module changed since.
pub fn stale_note(m: &crate::hub::Message) -> String {
    let Some(stale) = &m.stale else {
        return String::new();
    };
    let commits = stale
        .commits
        .map_or("history rewritten".to_string(), |n| format!("{n} commits"));
    format!(" stale ({commits}, {} files)", stale.files_changed)
}
