//! Fencing untrusted text. Whatever a module sends is data: it is wrapped in
//! markers that carry a tag derived from its content, and any marker-like
//! sequence inside it is broken up, so a message cannot close its own fence
//! early and continue as if claude-comms were speaking.

use super::templates::fnv1a;

/// The opening of every marker. Fenced text never contains it.
const MARKER: &str = "<<<";

/// Makes `text` safe to put between markers: a zero-width space goes
/// between any two `<` in a row, so no run of them (however long) can form
/// a marker. A single pass of replacing `<<<` would not do: `<<<<` would
/// leave one behind.
pub fn neutralise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '<' && chars.peek() == Some(&'<') {
            out.push('\u{200b}');
        }
    }
    out
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
