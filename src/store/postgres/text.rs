//! Texts PostgreSQL cannot hold, kept exactly all the same. PostgreSQL's
//! `text` refuses one character of UTF-8, U+0000 (NUL), which SQLite keeps
//! and which a message may well contain (a pasted binary, a tool's
//! output). So every text the store writes is escaped on its way in and
//! restored on its way out:
//!
//! * U+0000 becomes [`ESCAPE`] followed by [`NUL_MARK`];
//! * [`ESCAPE`] itself becomes [`ESCAPE`] twice;
//! * anything else is left as it is.
//!
//! The mapping is reversible, so what is read is exactly what was written,
//! on either backend and through `store copy`. Both characters are ASCII
//! controls (U+0001 "start of heading", U+0002 "start of text") that
//! prose never holds, so a text almost never changes; and like NUL they
//! separate words for PostgreSQL's text search (in any locale, unlike a
//! private-use character, which the C locale takes for a letter), so a
//! search finds the words around a NUL on both backends. Escaping happens
//! where parameters are bound (`cached.rs`), restoring where text columns
//! are read.

use std::borrow::Cow;

/// Starts an escape sequence.
pub(super) const ESCAPE: char = '\u{1}';
/// After [`ESCAPE`]: the sequence stands for U+0000.
pub(super) const NUL_MARK: char = '\u{2}';

/// `text` as PostgreSQL can store it (borrowed when nothing changes).
pub(super) fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['\0', ESCAPE]) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\0' => {
                out.push(ESCAPE);
                out.push(NUL_MARK);
            }
            ESCAPE => {
                out.push(ESCAPE);
                out.push(ESCAPE);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The text [`escape`] was given. A lone [`ESCAPE`] (a snippet cut
/// between the two characters of a sequence) is kept as it is.
pub(crate) fn restore(text: String) -> String {
    if !text.contains(ESCAPE) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ESCAPE {
            match chars.peek() {
                Some(&NUL_MARK) => {
                    chars.next();
                    out.push('\0');
                }
                Some(&ESCAPE) => {
                    chars.next();
                    out.push(ESCAPE);
                }
                _ => out.push(ESCAPE),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// [`restore`] of an optional text.
pub(crate) fn restore_opt(text: Option<String>) -> Option<String> {
    text.map(restore)
}

/// Escapes, in place, the UTF-8 bytes of one text parameter as the
/// binary protocol carries them (`bytes` is exactly the value).
pub(super) fn escape_bytes(bytes: &mut bytes::BytesMut, start: usize) {
    let Ok(text) = std::str::from_utf8(&bytes[start..]) else {
        return;
    };
    if let Cow::Owned(escaped) = escape(text) {
        bytes.truncate(start);
        bytes.extend_from_slice(escaped.as_bytes());
    }
}

/// The words for a text PostgreSQL refused (a path that did not escape
/// it): which character, never the database's raw message alone.
pub(super) fn refused_text(db: &tokio_postgres::error::DbError) -> Option<String> {
    match db.code().code() {
        "22021" | "22P05" => Some(format!(
            "PostgreSQL cannot store this text: it holds a character its text type refuses (U+0000, NUL); the database said: {} ({})",
            db.message(),
            db.code().code()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_comes_back_exactly() {
        for text in [
            "",
            "plain",
            "a\0b",
            "\0\0",
            "\u{1}",
            "\u{1}\u{2}",
            "x\u{2}\0\u{1}\0y",
            "\u{1}\u{1}\0",
        ] {
            let stored = escape(text);
            assert!(!stored.contains('\0'), "{stored:?}");
            assert_eq!(restore(stored.into_owned()), text);
        }
        assert!(matches!(escape("no change"), Cow::Borrowed(_)));
        assert_eq!(restore("cut\u{1}".into()), "cut\u{1}");
    }
}
