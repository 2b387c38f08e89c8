//! Reading back: windows of a conversation, pages of conversations, and
//! what followers read after their cursor.

use claude_comms::store::MessageCursor;
use claude_comms::store::{ConversationFilter, ConversationStatus, StoreError};
use serde_json::json;

use super::Backend;
use super::helpers::{ask_and_answer, clock_past, pair, seqs};

pub async fn message_windows_count_back_from_the_newest(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    for i in 0..5 {
        ask_and_answer(&s, &c.id, &format!("q{i}")).await;
    }
    let window = |limit: Option<usize>, before: Option<i64>| {
        let s = &s;
        let id = c.id.clone();
        async move { seqs(&s.messages(&id, limit, before).await.unwrap()) }
    };
    assert_eq!(window(None, None).await, (1..=10).collect::<Vec<_>>());
    assert_eq!(window(Some(3), None).await, [8, 9, 10]);
    assert_eq!(window(Some(3), Some(8)).await, [5, 6, 7]);
    assert_eq!(window(None, Some(3)).await, [1, 2]);
    assert_eq!(window(Some(500), Some(1)).await, Vec::<i64>::new());
    let all = s.messages(&c.id, None, None).await.unwrap();
    assert_eq!(all[1].content, "re: q0");

    let (conversation, since) = s.conversation_since(&c.id, 7).await.unwrap();
    assert_eq!(conversation.message_count, 10);
    assert_eq!(since, all[7..].to_vec());
    assert!(s.conversation_since(&c.id, 10).await.unwrap().1.is_empty());
    assert_eq!(s.conversation_since(&c.id, 0).await.unwrap().1, all);

    for e in [
        s.messages("no-such-id", None, None)
            .await
            .map(drop)
            .unwrap_err(),
        s.conversation_since("no-such-id", 0)
            .await
            .map(drop)
            .unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::UnknownConversation(_)), "{e}");
    }
}

pub async fn conversation_pages_list_each_once_most_recently_active_first(b: &impl Backend) {
    let s = b.open("main");
    let mut created = Vec::new();
    for i in 0..12 {
        let source = if i % 2 == 0 { "marker" } else { "claude_mcp" };
        let c = s
            .create_conversation(source, "arangodb", None, json!({"i": i}))
            .await
            .unwrap();
        created.push(c);
    }
    let list = |filter: ConversationFilter| {
        let s = &s;
        async move { s.list_conversations(&filter).await }
    };
    let mut expected = created.clone();
    expected.sort_by(|a, b| (b.updated_at, &b.id).cmp(&(a.updated_at, &a.id)));
    let mut pages = Vec::new();
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = list(ConversationFilter {
            limit: 5,
            cursor: cursor.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
        pages.push(page.conversations.len());
        listed.extend(page.conversations);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(pages, [5, 5, 2], "full pages, and no empty page at the end");
    assert_eq!(
        listed, expected,
        "each conversation once, newest activity first, then by id"
    );

    // Activity moves a conversation to the front.
    let newest = created
        .iter()
        .map(|c| c.updated_at)
        .max()
        .unwrap_or_default();
    clock_past(newest).await;
    let oldest = &created[0];
    ask_and_answer(&s, &oldest.id, "wake up").await;
    let first = list(ConversationFilter {
        limit: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        ids_of(&first.conversations),
        std::slice::from_ref(&oldest.id)
    );
    assert_eq!(first.conversations[0].message_count, 2);

    let count = |module: Option<&str>, status: Option<ConversationStatus>| {
        let filter = ConversationFilter {
            module: module.map(str::to_string),
            status,
            limit: 500,
            cursor: None,
        };
        let list = &list;
        async move { list(filter).await.unwrap().conversations.len() }
    };
    assert_eq!(count(Some("claude_mcp"), None).await, 6, "as the source");
    assert_eq!(count(Some("arangodb"), None).await, 12, "as the target");
    assert_eq!(count(Some("nobody"), None).await, 0);
    for c in &created[..3] {
        s.set_conversation_status(&c.id, ConversationStatus::Archived)
            .await
            .unwrap();
    }
    assert_eq!(count(None, Some(ConversationStatus::Archived)).await, 3);
    assert_eq!(count(None, Some(ConversationStatus::Active)).await, 9);
    assert_eq!(
        count(Some("marker"), Some(ConversationStatus::Archived)).await,
        2
    );

    let e = list(ConversationFilter {
        cursor: Some("garbage".into()),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        matches!(e, StoreError::BadCursor(ref c) if c == "garbage"),
        "{e}"
    );
}

fn ids_of(conversations: &[claude_comms::store::Conversation]) -> Vec<String> {
    conversations.iter().map(|c| c.id.clone()).collect()
}

pub async fn followers_read_every_message_after_their_cursor_in_order(b: &impl Backend) {
    let (s, other) = (b.open("main"), b.open("main"));
    assert_eq!(
        s.latest_message_cursor().await.unwrap(),
        MessageCursor::START,
        "the start before any message"
    );
    let c1 = pair(&s).await;
    let c2 = s
        .create_conversation("claude_mcp", "pdf", None, json!({}))
        .await
        .unwrap();
    let mut written = Vec::new();
    let (q, r) = ask_and_answer(&s, &c1.id, "first").await;
    written.extend([q.id, r.id]);
    written.push(s.add_note(&c2.id, "pdf", "a note").await.unwrap().id);
    let (q, r) = ask_and_answer(&other, &c2.id, "second").await;
    written.extend([q.id, r.id]);
    written.push(
        other
            .add_note(&c1.id, "marker", "another")
            .await
            .unwrap()
            .id,
    );

    let all = s
        .messages_after(MessageCursor::START, None, 100)
        .await
        .unwrap();
    let followed: Vec<String> = all.iter().map(|(_, m)| m.id.clone()).collect();
    assert_eq!(followed, written, "in the order they were stored");
    let cursors: Vec<MessageCursor> = all.iter().map(|(c, _)| *c).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    let last = *cursors.last().unwrap_or(&MessageCursor::START);
    assert_eq!(s.latest_message_cursor().await.unwrap(), last);
    assert!(s.messages_after(last, None, 100).await.unwrap().is_empty());
    assert_eq!(
        s.messages_after(MessageCursor::START, None, 2)
            .await
            .unwrap(),
        all[..2].to_vec()
    );
    assert_eq!(
        s.messages_after(cursors[1], None, 100).await.unwrap(),
        all[2..].to_vec()
    );
    let of = |module: &str| {
        let s = &s;
        let module = module.to_string();
        async move {
            s.messages_after(MessageCursor::START, Some(&module), 100)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, m)| m.conversation_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(of("pdf").await, vec![c2.id.clone(); 3]);
    assert_eq!(of("marker").await, vec![c1.id.clone(); 3]);
    assert!(of("nobody").await.is_empty());

    // What another handle writes next follows the last cursor.
    let later = other.add_note(&c1.id, "marker", "later").await.unwrap();
    let next = s.messages_after(last, None, 100).await.unwrap();
    assert_eq!(
        next.iter().map(|(_, m)| m.id.clone()).collect::<Vec<_>>(),
        std::slice::from_ref(&later.id)
    );
    assert_eq!(s.latest_message_cursor().await.unwrap(), next[0].0);

    // The activity feed: newest first, with each message's pair.
    let recent = s.recent_messages(3).await.unwrap();
    let mut newest: Vec<String> = written[written.len() - 2..].to_vec();
    newest.push(later.id);
    newest.reverse();
    assert_eq!(
        recent
            .iter()
            .map(|a| a.message.id.clone())
            .collect::<Vec<_>>(),
        newest
    );
    assert_eq!(
        (recent[0].source.as_str(), recent[0].target.as_str()),
        ("marker", "arangodb")
    );
    assert_eq!(
        (recent[2].source.as_str(), recent[2].target.as_str()),
        ("claude_mcp", "pdf")
    );
}
