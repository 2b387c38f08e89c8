//! The store's limits (see `limits`) and search's odd input, through the
//! public store API every face uses.

use proptest::prelude::*;
use serde_json::json;

use super::limits::*;
use super::*;
use crate::store::*;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db/test.db")).unwrap();
    (dir, store)
}

fn assert_names(result: Result<impl std::fmt::Debug>, words: &[&str]) {
    let error = result.expect_err("refused").to_string();
    for word in words {
        assert!(error.contains(word), "{error:?} does not name {word:?}");
    }
}

#[test]
fn oversized_caller_text_is_refused_naming_field_and_limit() {
    let (_d, s) = store();
    let huge = "t".repeat(8 * 1024 * 1024);
    assert_names(
        s.create_conversation("marker", "arangodb", Some(&huge), json!({})),
        &["title", "1024", "8388608"],
    );
    assert_names(
        s.create_conversation(&"m".repeat(300), "arangodb", None, json!({})),
        &["source", "256"],
    );
    assert_names(
        s.create_conversation("marker", "arangodb", None, json!({"x": huge})),
        &["metadata", "65536"],
    );
    let c = s
        .create_conversation("marker", "arangodb", Some("ok"), json!({}))
        .unwrap();
    let with_key = |key: String| NewQuery {
        conversation_id: c.id.clone(),
        sender: "marker".into(),
        content: "hi".into(),
        idempotency_key: Some(key),
        hop_chain: vec!["marker".into()],
        owner: "me".into(),
        template_version: None,
        context_note: None,
    };
    assert_names(
        s.begin_query(&with_key("k".repeat(5000))),
        &["idempotency_key", "256"],
    );
    let mut long_sender = with_key("k".into());
    long_sender.sender = "s".repeat(1000);
    assert_names(s.begin_query(&long_sender), &["sender", "256"]);
    assert_names(
        s.search(&"word ".repeat(1000), None, 10),
        &["query", "1024"],
    );
    // Nothing of the refused writes was stored.
    let page = s
        .list_conversations(&ConversationFilter::default())
        .unwrap();
    assert_eq!(page.conversations.len(), 1);
    assert_eq!(s.messages(&c.id, None, None).unwrap().len(), 0);
}

#[test]
fn page_sizes_outside_one_to_the_maximum_are_refused() {
    let (_d, s) = store();
    let c = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    for limit in [0, MAX_PAGE + 1, usize::MAX] {
        let filter = ConversationFilter {
            limit,
            ..ConversationFilter::default()
        };
        assert_names(s.list_conversations(&filter), &["limit", "500"]);
        assert_names(s.messages(&c.id, Some(limit), None), &["limit", "500"]);
        assert_names(s.search("x", None, limit), &["limit", "500"]);
    }
    let filter = ConversationFilter {
        limit: MAX_PAGE,
        ..ConversationFilter::default()
    };
    assert_eq!(
        s.list_conversations(&filter).unwrap().conversations.len(),
        1
    );
}

#[test]
fn a_long_failure_reason_is_clipped_not_refused() {
    let (_d, s) = store();
    let c = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    let BeginQuery::Fresh(q) = s
        .begin_query(&NewQuery {
            conversation_id: c.id.clone(),
            sender: "marker".into(),
            content: "hi".into(),
            idempotency_key: None,
            hop_chain: vec![],
            owner: "me".into(),
            template_version: None,
            context_note: None,
        })
        .unwrap()
    else {
        panic!("not fresh");
    };
    let stored = s
        .finish_query(
            &q.id,
            &Outcome::Failed {
                sender: "arangodb".into(),
                reason: format!("child died: {}", "e".repeat(1 << 20)),
                status: MessageStatus::Failed,
                instance_id: None,
                duration_ms: 1,
                cause: "child_died".into(),
            },
        )
        .unwrap();
    assert!(stored.content.starts_with("child died: "));
    assert!(
        stored.content.len() < MAX_NOTE_BYTES + 100,
        "{}",
        stored.content.len()
    );
    assert!(stored.content.contains("more bytes cut"));
}

#[test]
fn nul_and_control_characters_in_a_search_are_word_breaks() {
    let (_d, s) = store();
    let c = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    s.add_note(&c.id, "marker", "the blocks collection holds tables")
        .unwrap();
    for query in [
        "blocks\0tables",
        "\0blocks",
        "tables\u{1}",
        "blocks\u{7f}\0",
    ] {
        let hits = s.search(query, None, 10).unwrap();
        assert_eq!(hits.len(), 1, "{query:?}");
    }
    assert!(matches!(
        s.search("\0\0", None, 10),
        Err(StoreError::EmptySearch)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Whatever is typed, search answers hits, "empty" or "too long"; never
    /// an FTS syntax or SQL error.
    #[test]
    fn any_search_text_is_never_an_sql_error(text in prop_oneof![
        any::<String>(),
        // FTS5's own syntax and the characters that ended its parser early.
        prop::collection::vec(
            prop::sample::select(vec![
                'a', 'b', ' ', '\0', '\u{1}', '\t', '"', '*', '^', ':', '(', ')', '-',
                '+', '{', '}', 'é', '\u{7f}', '\u{feff}', 'N', 'E', 'A', 'R', 'O',
            ]),
            0..30,
        )
        .prop_map(|chars| chars.into_iter().collect::<String>()),
    ]) {
        // FTS5 parses a query only when there is something to match.
        static STORE: std::sync::LazyLock<(tempfile::TempDir, SqliteStore)> =
            std::sync::LazyLock::new(|| {
                let (dir, s) = store();
                let c = s.create_conversation("marker", "arangodb", None, json!({})).unwrap();
                s.add_note(&c.id, "marker", "a b (NEAR) OR é").unwrap();
                (dir, s)
            });
        match STORE.1.search(&text, None, 10) {
            Ok(_) | Err(StoreError::EmptySearch) | Err(StoreError::TooLong { .. }) => {}
            Err(e) => prop_assert!(false, "{text:?}: {e}"),
        }
    }
}
