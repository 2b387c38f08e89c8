//! Search: a message matches when every word typed occurs in it, as a
//! whole word, whatever the case; what is typed is words, never a query
//! language, and never an error.

use claude_comms::store::{SearchHit, Store, StoreError};
use serde_json::json;

use super::Backend;
use super::helpers::{ask, pair};

/// The contents of the hits of `text` (in the order found), or the error.
async fn found(s: &Store, text: &str) -> Result<Vec<String>, StoreError> {
    let hits = s.search(text, None, 50).await?;
    let mut contents = Vec::new();
    for hit in hits {
        contents.push(s.message(&hit.message_id).await?.content);
    }
    Ok(contents)
}

pub async fn a_search_finds_messages_holding_every_word_newest_first(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let q = ask(
        &s,
        &c.id,
        "Where do the extracted tables of a PDF go?",
        "srv",
    )
    .await;
    let r = s
        .finish_query(
            &q.id,
            super::helpers::reply("Tables go to the blocks collection."),
        )
        .await
        .unwrap();
    let d = s
        .create_conversation("claude_mcp", "pdf", None, json!({}))
        .await
        .unwrap();
    let note = s
        .add_note(&d.id, "pdf", "tables of contents are kept apart")
        .await
        .unwrap();

    let hits = s.search("tables", None, 10).await.unwrap();
    let hit_ids: Vec<&str> = hits.iter().map(|h| h.message_id.as_str()).collect();
    assert_eq!(hit_ids, [&note.id, &r.id, &q.id], "newest first");
    assert_eq!(
        hits[1],
        SearchHit {
            conversation_id: c.id.clone(),
            message_id: r.id.clone(),
            seq: 2,
            role: r.role,
            sender: "arangodb".into(),
            source: "marker".into(),
            target: "arangodb".into(),
            snippet: hits[1].snippet.clone(),
            created_at: r.created_at,
        }
    );
    for hit in &hits {
        assert!(
            hit.snippet.to_lowercase().contains("[tables]"),
            "the match is marked: {hit:?}"
        );
    }
    assert_eq!(
        s.search("TaBlEs", None, 10).await.unwrap(),
        hits,
        "any case"
    );
    assert_eq!(
        found(&s, "blocks tables").await.unwrap(),
        ["Tables go to the blocks collection."],
        "every word, in any order"
    );
    assert!(found(&s, "tables gone").await.unwrap().is_empty());
    assert!(
        found(&s, "table").await.unwrap().is_empty(),
        "whole words: no stems, no prefixes"
    );
    assert_eq!(
        found(&s, "pdf").await.unwrap(),
        ["Where do the extracted tables of a PDF go?"]
    );

    let module = |m: &str| {
        let s = &s;
        let m = m.to_string();
        async move { s.search("tables", Some(&m), 10).await.unwrap().len() }
    };
    assert_eq!(module("arangodb").await, 2, "as the target");
    assert_eq!(module("marker").await, 2, "as the source");
    assert_eq!(module("pdf").await, 1);
    assert_eq!(module("nobody").await, 0);
    let newest = s.search("tables", None, 1).await.unwrap();
    assert_eq!(newest, hits[..1].to_vec(), "the limit keeps the newest");
}

pub async fn search_text_is_plain_words_never_syntax(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    for text in [
        "foo or bar",
        "foo and bar",
        "the key a:b is set",
        "x marks the spot",
        "NEAR the (end)",
        "un café, s'il vous plaît",
    ] {
        s.add_note(&c.id, "marker", text).await.unwrap();
    }
    let cases: &[(&str, &[&str])] = &[
        ("foo bar", &["foo and bar", "foo or bar"]),
        ("foo OR bar", &["foo or bar"]),
        ("foo AND bar", &["foo and bar"]),
        ("\"x", &["x marks the spot"]),
        ("x\"", &["x marks the spot"]),
        ("-x", &["x marks the spot"]),
        ("a:b", &["the key a:b is set"]),
        ("(end)", &["NEAR the (end)"]),
        ("near", &["NEAR the (end)"]),
        ("fo*", &[]),
        ("café", &["un café, s'il vous plaît"]),
    ];
    for (text, want) in cases {
        assert_eq!(&found(&s, text).await.unwrap(), want, "{text:?}");
    }
    // Control characters and NUL separate words like spaces.
    s.add_note(&c.id, "marker", "the blocks collection holds tables")
        .await
        .unwrap();
    for text in [
        "blocks\0tables",
        "\0blocks",
        "tables\u{1}",
        "blocks\u{7f}\0",
    ] {
        assert_eq!(
            found(&s, text).await.unwrap(),
            ["the blocks collection holds tables"],
            "{text:?}"
        );
    }
    for text in ["", "   ", "\t\n", "\0\0", "\"", "\"\" \""] {
        let e = s.search(text, None, 10).await.unwrap_err();
        assert!(matches!(e, StoreError::EmptySearch), "{text:?}: {e}");
    }
}

pub async fn odd_search_text_is_never_an_error(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    s.add_note(&c.id, "marker", "a b (NEAR) OR é 'quoted' 100% $1 ;--")
        .await
        .unwrap();
    let odd = [
        "*",
        "**",
        "foo*",
        "^foo",
        "+foo",
        "{foo}",
        "foo:",
        ":foo",
        "\"foo AND (",
        "NEAR(a b)",
        "a NOT b",
        "NOT",
        "AND",
        "OR",
        "!",
        "!foo",
        "foo & bar",
        "foo | bar",
        "foo <-> bar",
        "foo:*",
        "'",
        "''",
        "'foo'",
        "\\",
        "\\'",
        "%",
        "_",
        "100%",
        "$1",
        "?",
        ";",
        "--",
        "/*",
        "*/",
        "::text",
        "'; DROP TABLE messages; --",
        "a\u{feff}b",
        "\u{feff}",
        "🙂",
        "é",
        "ü",
        "ß",
        "İ",
        "\u{200b}",
        "(",
        ")",
        "()",
        "[",
        "]",
        "{",
        "}",
        "<",
        ">",
        "@@",
        "~",
        "`",
        "a-b",
        "a.b",
        "a/b",
        "a@b.c",
        "https://x.y/z?q=1&r=2",
    ];
    for text in odd {
        match s.search(text, None, 10).await {
            Ok(_) | Err(StoreError::EmptySearch) => {}
            Err(e) => panic!("{text:?}: {e}"),
        }
    }
    assert_eq!(
        s.messages(&c.id, None, None).await.unwrap().len(),
        1,
        "nothing typed into a search runs as SQL"
    );
}
