//! Conversations: created, read back, archived, given a session.

use claude_comms::store::{ConversationStatus, StoreError};
use claude_comms::time::now_ms;
use serde_json::json;

use super::Backend;

pub async fn a_conversation_reads_back_as_created_from_every_handle(b: &impl Backend) {
    let (s, other) = (b.open("main"), b.open("main"));
    let before = now_ms();
    let metadata = json!({"backend": "claude-code-mcp", "nested": {"list": [1, 2.5, null, "é"]}});
    let c = s
        .create_conversation("marker", "arangodb", Some("Tables ✓"), metadata.clone())
        .await
        .unwrap();
    let after = now_ms();
    assert_eq!(
        (
            c.source.as_str(),
            c.target.as_str(),
            c.title.as_deref(),
            c.status,
            c.message_count,
            c.backend_session.as_deref(),
            &c.metadata
        ),
        (
            "marker",
            "arangodb",
            Some("Tables ✓"),
            ConversationStatus::Active,
            0,
            None,
            &metadata
        )
    );
    assert!(
        (before..=after).contains(&c.created_at),
        "created at {} outside {before}..={after}",
        c.created_at
    );
    assert_eq!(c.updated_at, c.created_at);
    assert_eq!(s.conversation(&c.id).await.unwrap(), c);
    assert_eq!(
        other.conversation(&c.id).await.unwrap(),
        c,
        "another handle reads what was committed"
    );
    let untitled = other
        .create_conversation("claude_mcp", "pdf", None, json!({}))
        .await
        .unwrap();
    assert_eq!(untitled.title, None);
    assert_eq!(untitled.metadata, json!({}));
    assert_ne!(untitled.id, c.id);
    assert_eq!(s.conversation(&untitled.id).await.unwrap(), untitled);
}

pub async fn status_and_session_change_and_unknown_ids_are_named(b: &impl Backend) {
    let s = b.open("main");
    let c = super::helpers::pair(&s).await;
    super::helpers::clock_past(c.updated_at).await;
    let archived = s
        .set_conversation_status(&c.id, ConversationStatus::Archived)
        .await
        .unwrap();
    assert_eq!(archived.status, ConversationStatus::Archived);
    assert!(
        archived.updated_at > c.updated_at,
        "a status change is activity"
    );
    assert_eq!(s.conversation(&c.id).await.unwrap(), archived);
    let active = s
        .set_conversation_status(&c.id, ConversationStatus::Active)
        .await
        .unwrap();
    assert_eq!(active.status, ConversationStatus::Active);

    s.set_backend_session(&c.id, Some("session-1"))
        .await
        .unwrap();
    assert_eq!(
        s.conversation(&c.id)
            .await
            .unwrap()
            .backend_session
            .as_deref(),
        Some("session-1")
    );
    s.set_backend_session(&c.id, None).await.unwrap();
    assert_eq!(s.conversation(&c.id).await.unwrap().backend_session, None);

    for e in [
        s.conversation("no-such-id").await.map(drop).unwrap_err(),
        s.set_conversation_status("no-such-id", ConversationStatus::Archived)
            .await
            .map(drop)
            .unwrap_err(),
        s.set_backend_session("no-such-id", Some("x"))
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(e, StoreError::UnknownConversation(ref id) if id == "no-such-id"),
            "{e}"
        );
        assert!(e.to_string().contains("no-such-id"), "{e}");
    }
}
