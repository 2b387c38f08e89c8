//! Fencing untrusted text. Whatever a module sends is data: it is wrapped in
//! markers that carry a tag derived from its content, and any marker-like
//! sequence inside it is broken up, so a message cannot close its own fence
//! early and continue as if claude-comms were speaking.

use super::templates::fnv1a;

/// The opening of every marker; broken up wherever it occurs in fenced text.
const MARKER: &str = "<<<";
/// What it becomes inside fenced text (a zero-width space after the first `<`).
const BROKEN_MARKER: &str = "<\u{200b}<<";

/// Makes `text` safe to put between markers.
pub fn neutralise(text: &str) -> String {
    text.replace(MARKER, BROKEN_MARKER)
}

/// A short tag that differs between texts (and so between fences).
pub fn tag(text: &str) -> String {
    format!("{:08x}", fnv1a(text.as_bytes()) as u32)
}

/// `text` between an opening marker that says what it is and a closing one.
pub fn fence(label: &str, text: &str) -> String {
    let tag = tag(text);
    format!(
        "{MARKER}{label} {tag}>>>\n{}\n{MARKER}END {tag}>>>\n",
        neutralise(text.trim_end())
    )
}
