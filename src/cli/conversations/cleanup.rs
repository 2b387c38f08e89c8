//! `conversations delete ID` and `conversations prune`: removing stored
//! conversations for good, after asking on a terminal (`--yes` skips it;
//! without a terminal `--yes` is required, so a script never deletes by
//! accident).

use crate::cli::confirm::{self, Answer};
use crate::cli::output::Output;
use crate::cli::when;
use crate::hub::{Conversation, ConversationStatus, Hub, PruneRule};

pub async fn delete(hub: &Hub, id: &str, yes: bool, out: &Output) -> anyhow::Result<i32> {
    let found = match hub.conversations().get(id, Some(1), None).await {
        Ok(t) => t.conversation,
        Err(e) => return out.hub_error_exit(&e),
    };
    if !confirmed(yes, &format!("Delete {}?", describe(&found)), out)? {
        return Ok(1);
    }
    match hub.conversations().delete(id).await {
        Ok(c) => {
            if out.json {
                out.json(&c)?;
            } else {
                out.line(format!("deleted {}", describe(&c)))?;
            }
            Ok(0)
        }
        Err(e) => out.hub_error_exit(&e),
    }
}

pub async fn prune(
    hub: &Hub,
    archived: bool,
    older_than: &str,
    dry_run: bool,
    yes: bool,
    out: &Output,
) -> anyhow::Result<i32> {
    let age = match when::parse_age(older_than) {
        Ok(age) => age,
        Err(e) => {
            out.note(format!("error: --older-than {e}"))?;
            return Ok(2);
        }
    };
    let rule = PruneRule {
        status: archived.then_some(ConversationStatus::Archived),
        // By the store's clock, which stamped every conversation: a machine
        // whose clock runs ahead must not see every conversation as old.
        inactive_before_ms: hub.maintenance().store_clock_ms().await? - age,
    };
    let matching = hub.conversations().prunable(rule.clone()).await?;
    let what = format!(
        "{}conversation(s) with no message for {older_than}",
        if archived { "archived " } else { "" }
    );
    if matching.is_empty() {
        out.line(format!("no {what}"))?;
        return Ok(0);
    }
    if dry_run || !out.json {
        for c in &matching {
            out.line(format!(
                "{} {}",
                if dry_run { "would delete" } else { "  " },
                describe(c)
            ))?;
        }
    }
    if dry_run {
        return Ok(0);
    }
    if !confirmed(
        yes,
        &format!("Delete these {} {what}?", matching.len()),
        out,
    )? {
        return Ok(1);
    }
    let removed = hub.conversations().prune(rule).await?;
    if out.json {
        out.json(&removed)?;
    } else {
        out.line(format!("deleted {} {what}", removed.len()))?;
        if removed.len() < matching.len() {
            out.note(format!(
                "{} kept: a query of theirs is still pending",
                matching.len() - removed.len()
            ))?;
        }
    }
    Ok(0)
}

fn describe(c: &Conversation) -> String {
    format!(
        "conversation {} ({} asks {}, {} message(s), {}, last active {})",
        c.id,
        c.source,
        c.target,
        c.message_count,
        c.status.as_str(),
        when::ago(c.updated_at, crate::time::now_ms())
    )
}

/// Asks `question` on the terminal; true for y/yes. Without a terminal,
/// only `--yes` confirms.
fn confirmed(yes: bool, question: &str, out: &Output) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    match confirm::ask(question)? {
        Answer::Yes => Ok(true),
        Answer::No => {
            out.note("nothing deleted")?;
            Ok(false)
        }
        Answer::NoTerminal => {
            out.note("error: not asking without a terminal: add --yes to delete")?;
            Ok(false)
        }
    }
}
