//! Fencing untrusted text. Whatever a module sends is data: it is wrapped in
//! markers that carry a tag drawn at random for each prompt, and any
//! marker-like sequence inside it (and inside every other piece of
//! module-supplied text in the prompt) is broken up, so no text can close its
//! fence early and continue as if claude-comms were speaking. Neutralising is
//! what makes that impossible; the unpredictable tag is a second lock, so a
//! forged closing marker could not even name the right fence.

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

/// A fresh, unpredictable fence tag: 64 random bits as 16 hex digits.
pub fn new_tag() -> String {
    let mut tag = uuid::Uuid::new_v4().simple().to_string();
    tag.truncate(16);
    tag
}

/// `text` between an opening marker that says what it is and a closing one,
/// both carrying `tag`.
pub fn fence(label: &str, text: &str, tag: &str) -> String {
    let label = neutralise(label);
    let body = neutralise(text.trim_end());
    let mut out = String::with_capacity(body.len() + label.len() + 48);
    for part in [
        MARKER, &label, " ", tag, ">>>\n", &body, "\n", MARKER, "END ", tag, ">>>\n",
    ] {
        out.push_str(part);
    }
    out
}
