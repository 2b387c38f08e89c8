//! Export and import: a conversation leaves one database and arrives in
//! another as it was, and works there like any other.

use claude_comms::policy::{ToolOutcome, ToolUse};
use claude_comms::store::MessageCursor;
use claude_comms::store::{
    ExportFormat, ExportedConversation, IdKind, MessageStatus, Outcome, StoreError, parse_export,
};
use serde_json::json;

use super::Backend;
use super::helpers::{ask, failure, fresh, query, reply};

pub async fn an_export_imports_into_another_database_as_it_was(b: &impl Backend) {
    let s = b.open("main");
    let c = s
        .create_conversation(
            "marker",
            "arangodb",
            Some("Tables"),
            json!({"backend": "claude-code-mcp"}),
        )
        .await
        .unwrap();
    let q = ask(&s, &c.id, "a ``` fence inside, and ✓", "srv").await;
    let mut answered = reply("answer ✓ about zeppelins");
    if let Outcome::Reply { tool_uses, .. } = &mut answered {
        tool_uses.push(ToolUse {
            tool: "Bash".into(),
            target: Some("touch x\nrm y".into()),
            outcome: ToolOutcome::Refused,
            detail: Some("No such tool available: Bash.".into()),
        });
    }
    s.finish_query(&q.id, answered).await.unwrap();
    let failed = fresh(
        s.begin_query(query(&c.id, "keyed", Some("key-1"), "srv"))
            .await
            .unwrap(),
    );
    s.finish_query(
        &failed.id,
        failure("timed out", MessageStatus::Failed, "timeout"),
    )
    .await
    .unwrap();
    s.add_note(&c.id, "marker", "a note").await.unwrap();
    let stored = ExportedConversation {
        conversation: s.conversation(&c.id).await.unwrap(),
        messages: s.messages(&c.id, None, None).await.unwrap(),
    };
    assert_eq!(stored.messages.len(), 5);
    assert_eq!(
        stored.messages[1].tool_uses.len(),
        1,
        "the reply keeps its tool uses"
    );
    for format in [ExportFormat::Json, ExportFormat::Jsonl] {
        let text = s.export(&c.id, format).await.unwrap();
        assert_eq!(parse_export(&text).unwrap(), stored, "{format:?}");
    }
    let markdown = s.export(&c.id, ExportFormat::Markdown).await.unwrap();
    assert!(markdown.starts_with("# Tables"), "{markdown}");
    assert!(
        markdown.contains("a ``` fence inside") && markdown.contains("answer ✓"),
        "{markdown}"
    );

    let other = b.open("other");
    let text = s.export(&c.id, ExportFormat::Jsonl).await.unwrap();
    let imported = other.import(parse_export(&text).unwrap()).await.unwrap();
    assert_eq!(imported, stored.conversation);
    assert_eq!(
        other.conversation(&c.id).await.unwrap(),
        stored.conversation
    );
    assert_eq!(
        other.messages(&c.id, None, None).await.unwrap(),
        stored.messages
    );
    let e = other.import(stored.clone()).await.unwrap_err();
    assert!(
        matches!(e, StoreError::Export(_)),
        "importing twice is refused: {e}"
    );
    assert_eq!(
        other.messages(&c.id, None, None).await.unwrap().len(),
        5,
        "and changes nothing"
    );

    // In its new database it is found, followed, resolved, and continues.
    let hits = other.search("zeppelins", None, 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].message_id, stored.messages[1].id);
    assert_eq!(
        other
            .messages_after(MessageCursor::START, None, 100)
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        other.resolve_id(IdKind::Message, &q.id[..8]).await.unwrap(),
        q.id
    );
    assert_eq!(
        other.outcome_of(&q.id).await.unwrap().as_ref(),
        Some(&stored.messages[1])
    );
    let (earlier, _) = super::helpers::duplicate(
        other
            .begin_query(query(&c.id, "keyed", Some("key-1"), "srv"))
            .await
            .unwrap(),
    );
    assert_eq!(earlier.id, failed.id, "idempotency keys come along");
    let next = ask(&other, &c.id, "and now?", "srv").await;
    assert_eq!(
        next.seq, 6,
        "numbering continues after the imported messages"
    );
    assert_eq!(other.conversation(&c.id).await.unwrap().message_count, 6);
    assert_eq!(
        s.messages(&c.id, None, None).await.unwrap().len(),
        5,
        "the source is untouched"
    );
    let e = s
        .export("no-such-id", ExportFormat::Json)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::UnknownConversation(_)), "{e}");
}

pub async fn an_empty_conversation_round_trips(b: &impl Backend) {
    let s = b.open("main");
    let empty = s
        .create_conversation("marker", "arangodb", None, json!({"k": [1]}))
        .await
        .unwrap();
    let other = b.open("other");
    for format in [ExportFormat::Json, ExportFormat::Jsonl] {
        let parsed = parse_export(&s.export(&empty.id, format).await.unwrap()).unwrap();
        assert_eq!(
            (&parsed.conversation, parsed.messages.len()),
            (&empty, 0),
            "{format:?}"
        );
    }
    let parsed = parse_export(&s.export(&empty.id, ExportFormat::Jsonl).await.unwrap()).unwrap();
    assert_eq!(other.import(parsed).await.unwrap(), empty);
    assert!(
        other
            .messages(&empty.id, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    let first = ask(&other, &empty.id, "first", "srv").await;
    assert_eq!(first.seq, 1);
}
