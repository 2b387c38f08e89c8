//! The token budget: a cheap, deterministic estimate, and packing of the
//! conversation history newest-first into what is left of the budget.

use super::fence::{fence, neutralise};
use super::{Turn, TurnRole};

/// Characters of a turn kept in its one-line summary.
const SUMMARY_CHARS: usize = 160;

/// Share of the history space (in percent) that whole turns may fill when
/// not everything fits; the rest goes to one-line summaries of older turns,
/// so the agent still sees the outline of the whole conversation.
const WHOLE_TURNS_SHARE: usize = 75;

/// ceil(bytes / 4): English prose and code run at roughly four bytes a
/// token, and counting bytes (not characters) errs on the safe side for
/// everything else. Cheap and the same everywhere, so prompts are
/// reproducible.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

/// The history section, at most `max_bytes` long, and a note of what was cut.
pub(super) struct PackedHistory {
    pub text: String,
    pub cut: Option<String>,
}

pub(super) fn role_name(role: TurnRole) -> &'static str {
    match role {
        TurnRole::Query => "question",
        TurnRole::Reply => "answer",
        TurnRole::Error => "error",
        TurnRole::Note => "note",
        TurnRole::AskBack => "question back",
        TurnRole::AskBackAnswer => "answer to the question back",
    }
}

fn whole(turn: &Turn, tag: &str) -> String {
    let label = format!(
        "TURN #{} {} from {}",
        turn.seq,
        role_name(turn.role),
        turn.sender
    );
    fence(&label, &turn.content, tag) + "\n"
}

fn summary(turn: &Turn) -> String {
    // The first SUMMARY_CHARS characters on one line, whitespace collapsed;
    // only as much of the turn is read as that needs.
    let mut line = String::with_capacity(SUMMARY_CHARS + 8);
    let (mut kept, mut space, mut more) = (0, false, false);
    for c in turn.content.trim_start().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if kept == SUMMARY_CHARS {
            more = true;
            break;
        }
        if space {
            line.push(' ');
            kept += 1;
            space = false;
        }
        line.push(c);
        kept += 1;
    }
    if more {
        line.push('…');
    }
    format!(
        "#{} {} ({}): {}\n",
        turn.seq,
        turn.sender,
        role_name(turn.role),
        neutralise(&line)
    )
}

fn omitted(n: usize) -> String {
    format!("[{n} earlier turns omitted to fit the token budget]\n\n")
}

fn summaries_block(lines: &[String], tag: &str) -> String {
    if lines.is_empty() {
        return String::new();
    }
    fence("EARLIER TURNS, SUMMARISED", &lines.concat(), tag) + "\n"
}

fn assemble(dropped: usize, summaries: &[String], wholes: &[String], tag: &str) -> String {
    let mut text = String::new();
    if dropped > 0 {
        text.push_str(&omitted(dropped));
    }
    text.push_str(&summaries_block(summaries, tag));
    text.push_str(&wholes.concat());
    text
}

/// Packs `history` (ascending) into at most `max_bytes`: the newest turns
/// whole, older ones as one-line summaries, the oldest dropped with a marker.
/// Every fence carries `tag`.
pub(super) fn pack(
    history: &[Turn],
    max_bytes: usize,
    budget_tokens: usize,
    tag: &str,
) -> PackedHistory {
    // Fence turns newest first, only until it is clear they cannot all fit.
    let mut fenced: Vec<String> = Vec::new();
    let mut total = 0;
    for turn in history.iter().rev() {
        let text = whole(turn, tag);
        total += text.len();
        fenced.push(text);
        if total > max_bytes {
            break;
        }
    }
    if total <= max_bytes {
        fenced.reverse();
        return PackedHistory {
            text: fenced.concat(),
            cut: None,
        };
    }
    // Not everything fits: whole turns up to a share of the room (leaving
    // room for a marker and the summary fence), then one-line summaries,
    // then nothing.
    let reserve = omitted(history.len()).len() + summaries_block(&[String::new()], tag).len();
    let whole_limit = max_bytes * WHOLE_TURNS_SHARE / 100;
    let mut used = reserve;
    let mut wholes = Vec::new();
    let mut summaries = Vec::new();
    let mut summarising = false;
    for (i, turn) in history.iter().rev().enumerate() {
        if !summarising {
            let text = match fenced.get_mut(i) {
                Some(t) => std::mem::take(t),
                None => whole(turn, tag),
            };
            if used + text.len() <= whole_limit {
                used += text.len();
                wholes.push(text);
                continue;
            }
            summarising = true;
        }
        let line = summary(turn);
        if used + line.len() > max_bytes {
            break;
        }
        used += line.len();
        summaries.push(line);
    }
    wholes.reverse();
    summaries.reverse();
    let mut dropped = history.len() - wholes.len() - summaries.len();
    let mut text = assemble(dropped, &summaries, &wholes, tag);
    // The reserve makes this rare; it guarantees the bound regardless.
    while text.len() > max_bytes {
        if !summaries.is_empty() {
            summaries.remove(0);
        } else if !wholes.is_empty() {
            wholes.remove(0);
        } else {
            text.clear();
            break;
        }
        dropped += 1;
        text = assemble(dropped, &summaries, &wholes, tag);
    }
    let mut parts = Vec::new();
    if !summaries.is_empty() {
        parts.push(format!("{} older turns summarised", summaries.len()));
    }
    if dropped > 0 {
        parts.push(format!("{dropped} dropped"));
    }
    PackedHistory {
        text,
        cut: Some(format!(
            "{} to fit {budget_tokens} tokens ({} of {} turns kept whole)",
            parts.join(", "),
            wholes.len(),
            history.len()
        )),
    }
}
