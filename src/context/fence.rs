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
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("<<") {
        return std::borrow::Cow::Borrowed(text); // The common case, found at memchr speed.
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '<' && chars.peek() == Some(&'<') {
            out.push('\u{200b}');
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A short tag that differs between texts (and so between fences). It marks
/// which closing marker belongs to which opening one; the safety of the fence
/// comes from [`neutralise`], so the tag hashes only the length and the ends
/// of the text, which keeps fencing long histories cheap.
pub fn tag(text: &str) -> String {
    let bytes = text.as_bytes();
    let head = &bytes[..bytes.len().min(64)];
    let tail = &bytes[bytes.len().saturating_sub(64)..];
    let mut key = Vec::with_capacity(head.len() + tail.len() + 8);
    key.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    key.extend_from_slice(head);
    key.extend_from_slice(tail);
    format!("{:08x}", fnv1a(&key) as u32)
}

/// `text` between an opening marker that says what it is and a closing one.
pub fn fence(label: &str, text: &str) -> String {
    let tag = tag(text);
    let body = neutralise(text.trim_end());
    let mut out = String::with_capacity(body.len() + label.len() + 40);
    for part in [
        MARKER, label, " ", &tag, ">>>\n", &body, "\n", MARKER, "END ", &tag, ">>>\n",
    ] {
        out.push_str(part);
    }
    out
}
