use serde_json::json;

use super::*;
use crate::store::*;

pub(super) fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db/test.db")).unwrap();
    (dir, store)
}

pub(super) fn query(conversation: &str, content: &str, key: Option<&str>, owner: &str) -> NewQuery {
    NewQuery {
        conversation_id: conversation.into(),
        sender: "marker".into(),
        content: content.into(),
        idempotency_key: key.map(str::to_string),
        hop_chain: vec!["marker".into(), "arangodb".into()],
        owner: owner.into(),
        template_version: None,
        context_note: None,
    }
}

pub(super) fn fresh(b: BeginQuery) -> Message {
    match b {
        BeginQuery::Fresh(m) => m,
        other => panic!("expected a fresh query, got {other:?}"),
    }
}

pub(super) fn reply(text: &str) -> Outcome {
    Outcome::Reply {
        sender: "arangodb".into(),
        content: text.into(),
        instance_id: Some("mcp-1".into()),
        duration_ms: 12,
        usage: Some(json!({"input_tokens": 3})),
        cost_usd: Some(0.5),
        api_duration_ms: Some(9),
        num_turns: Some(1),
        backend_session: None,
        tool_uses: Vec::new(),
        module: Default::default(),
    }
}

#[test]
fn a_query_and_its_reply_are_numbered_without_gaps() {
    let (_dir, s) = store();
    let c = s
        .create_conversation("marker", "arangodb", Some("t"), json!({}))
        .unwrap();
    let q = fresh(s.begin_query(&query(&c.id, "where?", None, "srv")).unwrap());
    assert_eq!((q.seq, q.status), (1, MessageStatus::Pending));
    let r = s.finish_query(&q.id, &reply("here")).unwrap();
    assert_eq!(
        (r.seq, r.role, r.reply_to.as_deref()),
        (2, Role::Reply, Some(q.id.as_str()))
    );
    let q = s.message(&q.id).unwrap();
    assert_eq!(q.status, MessageStatus::Delivered);
    assert_eq!(q.usage, Some(json!({"input_tokens": 3})));
    assert_eq!(q.hop_chain, vec!["marker", "arangodb"]);
    let err = s.finish_query(&q.id, &reply("again")).unwrap_err();
    assert!(matches!(err, StoreError::NotPending { .. }), "{err}");
    assert_eq!(s.conversation(&c.id).unwrap().message_count, 2);
}

#[test]
fn a_repeated_idempotency_key_returns_the_first_outcome_and_writes_nothing() {
    let (_dir, s) = store();
    let c = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    let q = fresh(
        s.begin_query(&query(&c.id, "once", Some("k"), "srv"))
            .unwrap(),
    );
    match s
        .begin_query(&query(&c.id, "once", Some("k"), "srv"))
        .unwrap()
    {
        BeginQuery::Duplicate { query, outcome } => {
            assert_eq!(query.id, q.id);
            assert!(outcome.is_none());
        }
        other => panic!("{other:?}"),
    }
    let r = s.finish_query(&q.id, &reply("done")).unwrap();
    match s
        .begin_query(&query(&c.id, "once", Some("k"), "srv"))
        .unwrap()
    {
        BeginQuery::Duplicate { outcome, .. } => assert_eq!(outcome.unwrap().id, r.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.messages(&c.id, None, None).unwrap().len(), 2);
}

#[test]
fn failures_are_stored_with_their_reason_and_archived_conversations_refuse_queries() {
    let (_dir, s) = store();
    let c = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    let q = fresh(s.begin_query(&query(&c.id, "q", None, "srv")).unwrap());
    let e = s
        .finish_query(
            &q.id,
            &Outcome::Failed {
                sender: "arangodb".into(),
                reason: "child died (exit code 3)".into(),
                status: MessageStatus::Failed,
                instance_id: None,
                duration_ms: 5,
                cause: "child_died".into(),
            },
        )
        .unwrap();
    assert_eq!(e.role, Role::Error);
    assert_eq!(s.message(&q.id).unwrap().status, MessageStatus::Failed);
    assert_eq!(
        s.message(&q.id).unwrap().error.as_deref(),
        Some("child died (exit code 3)")
    );
    s.set_conversation_status(&c.id, ConversationStatus::Archived)
        .unwrap();
    let err = s.begin_query(&query(&c.id, "q2", None, "srv")).unwrap_err();
    assert!(err.to_string().contains("archived"), "{err}");
    let err = s.begin_query(&query("nope", "q", None, "srv")).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn message_windows_and_conversation_pages() {
    let (_dir, s) = store();
    let c = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    for i in 0..5 {
        let q = fresh(
            s.begin_query(&query(&c.id, &format!("q{i}"), None, "srv"))
                .unwrap(),
        );
        s.finish_query(&q.id, &reply(&format!("r{i}"))).unwrap();
    }
    let seqs = |v: Vec<Message>| v.iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(s.messages(&c.id, Some(3), None).unwrap()),
        vec![8, 9, 10]
    );
    assert_eq!(
        seqs(s.messages(&c.id, Some(3), Some(8)).unwrap()),
        vec![5, 6, 7]
    );
    assert_eq!(seqs(s.messages(&c.id, None, Some(3)).unwrap()), vec![1, 2]);

    let mut ids = vec![c.id.clone()];
    for i in 0..11 {
        let source = if i % 2 == 0 { "marker" } else { "claude_mcp" };
        ids.push(
            s.create_conversation(source, "arangodb", None, json!({}))
                .unwrap()
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s
            .list_conversations(&ConversationFilter {
                limit: 5,
                cursor: cursor.clone(),
                ..Default::default()
            })
            .unwrap();
        seen.extend(page.conversations.iter().map(|c| c.id.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "every conversation exactly once");
    let markers = s
        .list_conversations(&ConversationFilter {
            module: Some("claude_mcp".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(markers.conversations.len(), 5);
    let bad = s
        .list_conversations(&ConversationFilter {
            cursor: Some("garbage".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(bad.to_string().contains("garbage"));
}

#[test]
fn search_finds_words_with_snippets_and_survives_odd_input() {
    let (_dir, s) = store();
    let c = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    let q = fresh(
        s.begin_query(&query(
            &c.id,
            "Where do the extracted tables of a PDF go?",
            None,
            "srv",
        ))
        .unwrap(),
    );
    s.finish_query(&q.id, &reply("Tables go to the blocks collection."))
        .unwrap();
    let hits = s.search("tables", None, 10).unwrap();
    assert_eq!(hits.len(), 2);
    assert!(
        hits.iter().any(|h| h.snippet.contains("[tables]")),
        "{hits:?}"
    );
    assert_eq!(
        s.search("blocks collection", Some("arangodb"), 10)
            .unwrap()
            .len(),
        1
    );
    assert!(
        s.search("tables", Some("claude_mcp"), 10)
            .unwrap()
            .is_empty()
    );
    assert!(s.search("\"foo AND (", None, 10).unwrap().is_empty());
    assert!(matches!(
        s.search("  ", None, 10),
        Err(StoreError::EmptySearch)
    ));
}

/// The search index catches up with every stored message before a search
/// runs, and a message deleted before or after it was indexed leaves the
/// index whole (SQLite's own check), also when SQLite gives a deleted last
/// row's `pos` to the next message.
#[test]
fn search_sees_every_stored_message_and_deletes_leave_the_index_whole() {
    let (_dir, s) = store();
    let ask = |text: &str| {
        let c = s
            .create_conversation("marker", "arangodb", None, json!({}))
            .unwrap();
        let q = fresh(s.begin_query(&query(&c.id, text, None, "srv")).unwrap());
        s.finish_query(&q.id, &reply(&format!("{text} it is")))
            .unwrap();
        c.id
    };
    let walrus = ask("walrus");
    assert_eq!(s.search("walrus", None, 10).unwrap().len(), 2);
    // Deleted before the index took it, then its `pos` given again.
    let first_narwhal = ask("narwhal");
    s.delete_conversation(&first_narwhal).unwrap();
    ask("narwhal");
    assert_eq!(s.search("narwhal", None, 10).unwrap().len(), 2);
    // Deleted after the index took it.
    s.delete_conversation(&walrus).unwrap();
    assert!(s.search("walrus", None, 10).unwrap().is_empty());
    s.conn()
        .execute(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .expect("the index matches the messages");
}

#[test]
fn exports_round_trip_and_markdown_holds_every_message() {
    let (_dir, s) = store();
    let c = s
        .create_conversation(
            "marker",
            "arangodb",
            Some("Tables"),
            json!({"backend": "claude-code-mcp"}),
        )
        .unwrap();
    let q = fresh(
        s.begin_query(&query(&c.id, "a ``` fence inside", None, "srv"))
            .unwrap(),
    );
    let mut answered = reply("answer ✓");
    if let Outcome::Reply { tool_uses, .. } = &mut answered {
        tool_uses.push(crate::store::ToolUse {
            tool: "Bash".into(),
            target: Some("touch x\nrm y".into()),
            outcome: crate::store::ToolOutcome::Refused,
            detail: Some("No such tool available: Bash.".into()),
        });
    }
    s.finish_query(&q.id, &answered).unwrap();
    let stored = ExportedConversation {
        conversation: s.conversation(&c.id).unwrap(),
        messages: s.messages(&c.id, None, None).unwrap(),
    };
    for format in [ExportFormat::Json, ExportFormat::Jsonl] {
        let text = s.export(&c.id, format).unwrap();
        assert_eq!(parse_export(&text).unwrap(), stored, "{format:?}");
    }
    // An empty conversation round-trips too (its JSON Lines export is one line).
    let empty = s
        .create_conversation("marker", "arangodb", None, json!({}))
        .unwrap();
    for format in [ExportFormat::Json, ExportFormat::Jsonl] {
        let parsed = parse_export(&s.export(&empty.id, format).unwrap()).unwrap();
        assert_eq!(
            (parsed.conversation, parsed.messages.len()),
            (s.conversation(&empty.id).unwrap(), 0)
        );
    }
    // An export imports into another database as it was.
    let (_other_dir, other) = store();
    let imported = other
        .import(&parse_export(&s.export(&c.id, ExportFormat::Jsonl).unwrap()).unwrap())
        .unwrap();
    assert_eq!(imported, stored.conversation);
    assert_eq!(other.messages(&c.id, None, None).unwrap(), stored.messages);
    assert!(other.import(&stored).is_err(), "importing twice is refused");
    assert_eq!(
        stored.messages[1].tool_uses.len(),
        1,
        "the reply keeps its tool uses"
    );
    let md = s.export(&c.id, ExportFormat::Markdown).unwrap();
    assert!(
        md.contains("refused Bash touch x\\nrm y — No such tool available: Bash."),
        "{md}"
    );
    assert!(md.starts_with("# Tables"));
    assert!(md.contains("a ``` fence inside") && md.contains("answer ✓"));
    assert!(
        md.contains("````text"),
        "fence longer than the content's: {md}"
    );
    assert!(
        "pdf"
            .parse::<ExportFormat>()
            .unwrap_err()
            .to_string()
            .contains("pdf")
    );
}

#[test]
fn rfc3339_dates() {
    assert_eq!(export::rfc3339(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(export::rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
    assert_eq!(
        export::rfc3339(1_795_996_800_000),
        "2026-11-30T00:00:00.000Z"
    );
}
