//! Jobs: the newest queries and their outcomes, and ids typed as a prefix.

use claude_comms::store::{ExportedConversation, IdKind, MessageStatus, Role, StoreError};
use serde_json::json;

use super::Backend;
use super::helpers::{ask, clock_past, conversation, failure, ids, message, pair, reply};

pub async fn recent_queries_are_newest_first_by_status_and_module(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let d = s
        .create_conversation("claude_mcp", "pdf", None, json!({}))
        .await
        .unwrap();
    let delivered = ask(&s, &c.id, "q1", "srv").await;
    let r = s.finish_query(&delivered.id, reply("r1")).await.unwrap();
    clock_past(r.created_at).await;
    let failed = ask(&s, &c.id, "q2", "srv").await;
    let e = s
        .finish_query(&failed.id, failure("no", MessageStatus::Failed, "timeout"))
        .await
        .unwrap();
    clock_past(e.created_at).await;
    let pending = ask(&s, &c.id, "q3", "srv").await;
    s.add_note(&c.id, "marker", "not a job").await.unwrap();
    clock_past(pending.created_at).await;
    let elsewhere = ask(&s, &d.id, "q4", "srv").await;

    let jobs = |status: Option<MessageStatus>, module: Option<&str>, limit: usize| {
        let s = &s;
        let module = module.map(str::to_string);
        async move {
            ids(&s
                .recent_queries(status, module.as_deref(), limit)
                .await
                .unwrap())
        }
    };
    let all = [&elsewhere, &pending, &failed, &delivered].map(|m| m.id.clone());
    assert_eq!(jobs(None, None, 10).await, all);
    assert_eq!(jobs(None, None, 2).await, all[..2]);
    assert_eq!(jobs(Some(MessageStatus::Pending), None, 10).await, all[..2]);
    assert_eq!(
        jobs(Some(MessageStatus::Failed), None, 10).await,
        [all[2].clone()]
    );
    assert_eq!(
        jobs(Some(MessageStatus::Delivered), None, 10).await,
        [all[3].clone()]
    );
    assert_eq!(jobs(None, Some("pdf"), 10).await, [all[0].clone()]);
    assert_eq!(
        jobs(Some(MessageStatus::Pending), Some("marker"), 10).await,
        [all[1].clone()]
    );
    assert!(
        jobs(Some(MessageStatus::Cancelled), None, 10)
            .await
            .is_empty()
    );
    let listed = s.recent_queries(None, None, 10).await.unwrap();
    assert!(listed.iter().all(|m| m.role == Role::Query));
    assert_eq!(listed[2].status, MessageStatus::Failed, "as they are now");

    assert_eq!(s.outcome_of(&delivered.id).await.unwrap(), Some(r.clone()));
    assert_eq!(s.outcome_of(&failed.id).await.unwrap(), Some(e.clone()));
    assert_eq!(s.outcome_of(&pending.id).await.unwrap(), None);
    assert_eq!(s.outcome_of("no-such-id").await.unwrap(), None);
    // Many at once, in one read: the closed ones' outcomes only.
    let mut many = s
        .outcomes_of(
            &all.iter()
                .cloned()
                .chain(["no-such-id".into()])
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    many.sort_by_key(|m| m.created_at);
    assert_eq!(many, [r, e]);
    assert!(s.outcomes_of(&[]).await.unwrap().is_empty());
}

pub async fn ids_resolve_from_a_prefix_of_eight_characters_or_more(b: &impl Backend) {
    let s = b.open("main");
    // Ids of our choosing (an import keeps them), so that two share a prefix.
    for (conversation_id, message_ids) in [
        (
            "c0ffee00-aaaa-4000-8000-000000000001",
            [
                "abcdef01-0000-4000-8000-000000000001",
                "abcdef01-0000-4000-8000-000000000002",
            ],
        ),
        (
            "c0ffee00-bbbb-4000-8000-000000000002",
            [
                "abcdef02-0000-4000-8000-000000000003",
                "abcdef0_-0000-4000-8000-000000000004",
            ],
        ),
    ] {
        let messages = message_ids
            .iter()
            .zip(1..)
            .map(|(id, seq)| message(id, conversation_id, seq, Role::Note, "imported"))
            .collect();
        s.import(ExportedConversation {
            conversation: conversation(conversation_id, 2),
            messages,
        })
        .await
        .unwrap();
    }
    let resolve = |kind: IdKind, prefix: &str| {
        let s = &s;
        let prefix = prefix.to_string();
        async move { s.resolve_id(kind, &prefix).await }
    };
    let full = "abcdef02-0000-4000-8000-000000000003";
    for typed in ["abcdef02", "abcdef02-0000", full, " abcdef02 "] {
        assert_eq!(
            resolve(IdKind::Message, typed).await.unwrap(),
            full,
            "{typed:?}"
        );
    }
    assert_eq!(
        resolve(IdKind::Conversation, "c0ffee00-b").await.unwrap(),
        "c0ffee00-bbbb-4000-8000-000000000002"
    );
    for (kind, typed) in [
        (IdKind::Message, "abcdef01"),
        (IdKind::Message, "abcdef01-0000-4000-8000-00000000000"),
        (IdKind::Conversation, "c0ffee00"),
    ] {
        let e = resolve(kind, typed).await.unwrap_err();
        assert!(
            matches!(e, StoreError::BadValue(_)) && e.to_string().contains("ambiguous"),
            "{typed}: {e}"
        );
    }
    let e = resolve(IdKind::Message, "abcdef0").await.unwrap_err();
    assert!(
        matches!(e, StoreError::BadValue(_)) && e.to_string().contains('8'),
        "too short: {e}"
    );
    // Characters that are wildcards to SQL's LIKE are plain characters.
    assert_eq!(
        resolve(IdKind::Message, "abcdef0_").await.unwrap(),
        "abcdef0_-0000-4000-8000-000000000004"
    );
    for typed in ["abcdef0%", "abcdef__", "ffffffff"] {
        let e = resolve(IdKind::Message, typed).await.unwrap_err();
        assert!(matches!(e, StoreError::UnknownMessage(_)), "{typed}: {e}");
    }
    let e = resolve(IdKind::Conversation, "abcdef02").await.unwrap_err();
    assert!(matches!(e, StoreError::UnknownConversation(_)), "{e}");
}
