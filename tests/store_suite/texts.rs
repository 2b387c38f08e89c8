//! Texts are kept exactly, whatever characters they hold (issue 28):
//! U+0000 (NUL), which PostgreSQL's `text` cannot hold, and the private-use
//! characters the PostgreSQL backend escapes it with, read back as they
//! were written, through every read, search and export, on both backends.

use claude_comms::store::{ExportFormat, Outcome, parse_export};
use serde_json::json;

use super::Backend;
use super::helpers::{ask, pair};

/// Texts that would trip a backend that stored them as they come.
const ODD: [&str; 4] = [
    "before\0after",
    "\0\0 two at the start",
    "the escape \u{1} and its mark \u{2}, then \u{1}\0 together",
    "ends with the escape \u{1}",
];

pub async fn texts_with_nul_and_escape_characters_read_back_exactly(b: &impl Backend) {
    let s = b.open("main");
    let c = s
        .create_conversation("marker", "arangodb", Some("title \0 with a NUL"), json!({}))
        .await
        .unwrap();
    let mut written = Vec::new();
    for text in ODD {
        let q = ask(&s, &c.id, text, "srv").await;
        let r = s
            .finish_query(&q.id, super::helpers::reply(&format!("re: {text}")))
            .await
            .unwrap();
        written.push((q.id, text.to_string()));
        written.push((r.id, format!("re: {text}")));
    }
    let note = s.add_note(&c.id, "operator", "note\0note").await.unwrap();
    written.push((note.id, "note\0note".into()));
    let failed = ask(&s, &c.id, "fails", "srv").await;
    s.finish_query(
        &failed.id,
        Outcome::Failed {
            sender: "arangodb".into(),
            reason: "stderr said \0\u{1}".into(),
            status: claude_comms::store::MessageStatus::Failed,
            instance_id: None,
            duration_ms: 1,
            cause: "crash".into(),
        },
    )
    .await
    .unwrap();

    // From another handle, as another process reads them.
    let other = b.open("main");
    for (id, text) in &written {
        assert_eq!(
            &other.message(id).await.unwrap().content,
            text,
            "message {id}"
        );
    }
    let window = other.messages(&c.id, None, None).await.unwrap();
    for (id, text) in &written {
        let found = window.iter().find(|m| &m.id == id).expect("in the window");
        assert_eq!(&found.content, text);
    }
    let failure = other.message(&failed.id).await.unwrap();
    assert_eq!(failure.error.as_deref(), Some("stderr said \0\u{1}"));
    assert_eq!(
        other.conversation(&c.id).await.unwrap().title.as_deref(),
        Some("title \0 with a NUL")
    );

    // The words around a NUL are found, and the snippet holds no escape
    // sequence of the backend's own.
    let hits = other.search("before", None, 10).await.unwrap();
    assert_eq!(hits.len(), 2, "the query and its reply: {hits:?}");
    for hit in &hits {
        assert!(
            !hit.snippet.contains("\u{1}\u{2}"),
            "an escape shows: {:?}",
            hit.snippet
        );
    }

    // An export carries them, and imports into another database as they were.
    let exported = other.export(&c.id, ExportFormat::Json).await.unwrap();
    let copy = b.open("imported");
    copy.import(parse_export(&exported).unwrap()).await.unwrap();
    for (id, text) in &written {
        assert_eq!(
            &copy.message(id).await.unwrap().content,
            text,
            "imported {id}"
        );
    }
}

pub async fn a_search_for_a_word_next_to_a_nul_finds_only_its_message(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let nul = s.add_note(&c.id, "operator", "alpha\0beta").await.unwrap();
    s.add_note(&c.id, "operator", "gamma delta").await.unwrap();
    let hits: Vec<String> = s
        .search("beta", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.message_id)
        .collect();
    assert_eq!(hits, [nul.id], "only the message holding the word");
}
