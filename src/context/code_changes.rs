//! The note a follow-up's agent gets when its module's folder changed since
//! its last answer in the conversation: which files, so that it reads them
//! again instead of trusting what it said before (issue 21). Appended after
//! the template, so overridden templates get it too.

use std::fmt::Write;

use super::fence::neutralise;
use crate::workspace::Changes;

/// Longest file name quoted; longer ones keep their end (the file's name).
const MAX_NAME_CHARS: usize = 200;

pub(super) fn note(changes: &Changes) -> String {
    let short = |c: &str| c.get(..12).unwrap_or(c).to_string();
    let commits = match changes.commits {
        Some(1) => "1 commit".to_string(),
        Some(n) => format!("{n} commits"),
        None => "a rewritten history".to_string(),
    };
    let mut out = format!(
        "\n# Your code changed since your last answer\nYour folder moved from commit {} to {} ({commits}); {} of its files changed since you last answered in this conversation",
        short(&changes.from),
        short(&changes.to),
        changes.files_changed,
    );
    if changes.files.is_empty() {
        out.push_str(".\n");
    } else {
        out.push_str(":\n");
        for file in &changes.files {
            let chars = file.chars().count();
            let name: String = if chars > MAX_NAME_CHARS {
                let tail: String = file.chars().skip(chars - MAX_NAME_CHARS).collect();
                format!("…{tail}")
            } else {
                file.clone()
            };
            let _ = writeln!(out, "- {}", neutralise(&name).replace('\n', "\\n"));
        }
        let more = changes.files_changed.saturating_sub(changes.files.len());
        if more > 0 {
            let _ = writeln!(out, "- … and {more} more");
        }
    }
    out.push_str("Read the files that matter to the question again; do not rely on what you said about them before.\n");
    out
}
