//! Removing conversations for good, one or by a cleanup rule; never one
//! that still waits for an answer.

use claude_comms::store::MessageCursor;
use claude_comms::store::{
    ConversationFilter, ConversationStatus, ExportFormat, IdKind, PruneRule, StoreError,
};
use claude_comms::time::now_ms;

use super::Backend;
use super::helpers::{ask, ask_and_answer, clock_past, pair, reply};

pub async fn deleting_a_conversation_removes_it_and_its_messages(b: &impl Backend) {
    let (s, other) = (b.open("main"), b.open("main"));
    let gone = pair(&s).await;
    let (q, r) = ask_and_answer(&s, &gone.id, "about zeppelins").await;
    let kept = pair(&s).await;
    ask_and_answer(&s, &kept.id, "about zeppelins too").await;

    let removed = other.delete_conversation(&gone.id).await.unwrap();
    assert_eq!(
        (removed.id.as_str(), removed.message_count),
        (gone.id.as_str(), 2)
    );
    for e in [
        s.conversation(&gone.id).await.map(drop).unwrap_err(),
        s.messages(&gone.id, None, None)
            .await
            .map(drop)
            .unwrap_err(),
        s.export(&gone.id, ExportFormat::Json)
            .await
            .map(drop)
            .unwrap_err(),
        s.delete_conversation(&gone.id).await.map(drop).unwrap_err(),
        s.resolve_id(IdKind::Conversation, &gone.id)
            .await
            .map(drop)
            .unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::UnknownConversation(_)), "{e}");
    }
    for id in [&q.id, &r.id] {
        let e = s.message(id).await.unwrap_err();
        assert!(matches!(e, StoreError::UnknownMessage(_)), "{e}");
    }
    let hits = s.search("zeppelins", None, 10).await.unwrap();
    assert!(
        hits.iter().all(|h| h.conversation_id == kept.id) && hits.len() == 2,
        "the index forgets them too: {hits:?}"
    );
    let listed = s
        .list_conversations(&ConversationFilter::default())
        .await
        .unwrap();
    assert_eq!(listed.conversations.len(), 1);
    assert_eq!(
        s.messages_after(MessageCursor::START, None, 100)
            .await
            .unwrap()
            .len(),
        2
    );

    let waiting = pair(&s).await;
    let pending = ask(&s, &waiting.id, "still waiting", "srv").await;
    let e = s.delete_conversation(&waiting.id).await.unwrap_err();
    assert!(
        matches!(e, StoreError::ConversationBusy { .. }) && e.to_string().contains("pending"),
        "{e}"
    );
    assert_eq!(s.messages(&waiting.id, None, None).await.unwrap().len(), 1);
    s.finish_query(&pending.id, reply("at last")).await.unwrap();
    s.delete_conversation(&waiting.id).await.unwrap();
}

pub async fn pruning_removes_inactive_conversations_except_those_awaiting_an_answer(
    b: &impl Backend,
) {
    let s = b.open("main");
    let answered = pair(&s).await;
    ask_and_answer(&s, &answered.id, "q").await;
    let answered = s.conversation(&answered.id).await.unwrap();
    clock_past(answered.updated_at).await;
    let archived = pair(&s).await;
    let archived = s
        .set_conversation_status(&archived.id, ConversationStatus::Archived)
        .await
        .unwrap();
    clock_past(archived.updated_at).await;
    let waiting = pair(&s).await;
    ask(&s, &waiting.id, "still waiting", "srv").await;
    let waiting = s.conversation(&waiting.id).await.unwrap();
    clock_past(waiting.updated_at).await;
    let cutoff = now_ms();
    clock_past(cutoff).await;
    let recent = pair(&s).await;

    let rule = |status: Option<ConversationStatus>| PruneRule {
        status,
        inactive_before_ms: cutoff,
    };
    assert_eq!(
        s.prunable_conversations(&rule(None)).await.unwrap(),
        [answered.clone(), archived.clone(), waiting.clone()],
        "what the rule matches, oldest activity first"
    );
    assert_eq!(
        s.prunable_conversations(&rule(Some(ConversationStatus::Archived)))
            .await
            .unwrap(),
        std::slice::from_ref(&archived)
    );
    assert_eq!(
        s.prune_conversations(&rule(Some(ConversationStatus::Archived)))
            .await
            .unwrap(),
        std::slice::from_ref(&archived)
    );
    assert_eq!(
        s.prune_conversations(&rule(None)).await.unwrap(),
        std::slice::from_ref(&answered),
        "a conversation awaiting an answer is kept"
    );
    let left: Vec<String> = s
        .list_conversations(&ConversationFilter::default())
        .await
        .unwrap()
        .conversations
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, [recent.id.clone(), waiting.id.clone()]);
    assert_eq!(s.messages(&waiting.id, None, None).await.unwrap().len(), 1);
    assert!(s.prune_conversations(&rule(None)).await.unwrap().is_empty());
}
