//! The store's limits hold on every backend: oversized caller text and
//! page sizes out of range are refused naming the field and the limit, and
//! nothing of a refused write is stored; product-written text (a failure's
//! reason) is clipped, never refused.

use claude_comms::store::MessageCursor;
use claude_comms::store::limits::{MAX_NOTE_BYTES, MAX_PAGE};
use claude_comms::store::{ConversationFilter, MessageStatus, NewQuery, StoreError};
use serde_json::json;

use super::Backend;
use super::helpers::{ask, failure, pair, query};

/// `result` is an error whose text names every one of `words`.
fn assert_names<T: std::fmt::Debug>(result: Result<T, StoreError>, words: &[&str]) {
    let error = result.expect_err("refused").to_string();
    for word in words {
        assert!(error.contains(word), "{error:?} does not name {word:?}");
    }
}

pub async fn oversized_input_is_refused_naming_the_field_and_its_limit(b: &impl Backend) {
    let s = b.open("main");
    let huge = "t".repeat(8 * 1024 * 1024);
    assert_names(
        s.create_conversation("marker", "arangodb", Some(&huge), json!({}))
            .await,
        &["title", "1024", "8388608"],
    );
    assert_names(
        s.create_conversation(&"m".repeat(300), "arangodb", None, json!({}))
            .await,
        &["source", "256"],
    );
    assert_names(
        s.create_conversation("marker", "arangodb", None, json!({"x": huge}))
            .await,
        &["metadata", "65536"],
    );
    let c = pair(&s).await;
    assert_names(
        s.begin_query(query(&c.id, "hi", Some(&"k".repeat(5000)), "me"))
            .await,
        &["idempotency_key", "256"],
    );
    assert_names(
        s.begin_query(NewQuery {
            sender: "s".repeat(1000),
            ..query(&c.id, "hi", None, "me")
        })
        .await,
        &["sender", "256"],
    );
    assert_names(
        s.search(&"word ".repeat(1000), None, 10).await,
        &["query", "1024"],
    );
    assert_names(
        s.add_note(&c.id, "marker", &"n".repeat(MAX_NOTE_BYTES + 1))
            .await,
        &["note", "65536"],
    );
    let page = s
        .list_conversations(&ConversationFilter::default())
        .await
        .unwrap();
    assert_eq!(page.conversations.len(), 1, "nothing refused was stored");
    assert!(s.messages(&c.id, None, None).await.unwrap().is_empty());
}

pub async fn page_sizes_outside_one_to_the_maximum_are_refused(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    for limit in [0, MAX_PAGE + 1, usize::MAX] {
        let filter = ConversationFilter {
            limit,
            ..ConversationFilter::default()
        };
        assert_names(s.list_conversations(&filter).await, &["limit", "500"]);
        assert_names(
            s.messages(&c.id, Some(limit), None).await,
            &["limit", "500"],
        );
        assert_names(s.search("x", None, limit).await, &["limit", "500"]);
        assert_names(s.recent_queries(None, None, limit).await, &["limit", "500"]);
        assert_names(s.recent_messages(limit).await, &["limit", "500"]);
        assert_names(
            s.messages_after(MessageCursor::START, None, limit).await,
            &["limit", "500"],
        );
    }
    let filter = ConversationFilter {
        limit: MAX_PAGE,
        ..ConversationFilter::default()
    };
    assert_eq!(
        s.list_conversations(&filter)
            .await
            .unwrap()
            .conversations
            .len(),
        1
    );
    assert!(
        s.messages(&c.id, Some(MAX_PAGE), None)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_long_failure_reason_is_clipped_not_refused(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let q = ask(&s, &c.id, "hi", "me").await;
    let stored = s
        .finish_query(
            &q.id,
            failure(
                &format!("child died: {}", "e".repeat(1 << 20)),
                MessageStatus::Failed,
                "child_died",
            ),
        )
        .await
        .unwrap();
    assert!(stored.content.starts_with("child died: "));
    assert!(
        stored.content.len() < MAX_NOTE_BYTES + 100,
        "{}",
        stored.content.len()
    );
    assert!(stored.content.contains("more bytes cut"));
    assert_eq!(
        s.message(&q.id).await.unwrap().error.as_deref(),
        Some(stored.content.as_str())
    );
}
