//! Access tokens of remote hosts: stored with a hash of their secret,
//! listed newest first, revoked, touched.

use claude_comms::store::{NewToken, StoreError};
use claude_comms::time::now_ms;

use super::Backend;
use super::helpers::clock_past;

pub async fn tokens_are_stored_listed_revoked_and_touched(b: &impl Backend) {
    let (s, other) = (b.open("main"), b.open("main"));
    let before = now_ms();
    let laptop = s
        .insert_token(&NewToken {
            id: "tok-laptop".into(),
            secret_hash: "5e8ff9bf55ba3508199d22e984129be6".into(),
            module: Some("marker".into()),
            admin: false,
            label: Some("laptop".into()),
            lifetime_ms: Some(3_600_000),
        })
        .await
        .unwrap();
    assert_eq!(
        (
            laptop.id.as_str(),
            laptop.secret_hash.as_str(),
            laptop.module.as_deref(),
            laptop.admin,
            laptop.label.as_deref(),
            laptop.expires_at,
            laptop.revoked_at,
            laptop.last_used_at
        ),
        (
            "tok-laptop",
            "5e8ff9bf55ba3508199d22e984129be6",
            Some("marker"),
            false,
            Some("laptop"),
            Some(laptop.created_at + 3_600_000),
            None,
            None
        )
    );
    assert!(!laptop.expired, "valid for an hour from its creation");
    assert!((before..=now_ms()).contains(&laptop.created_at));
    clock_past(laptop.created_at).await;
    let operator = other
        .insert_token(&NewToken {
            id: "tok-operator".into(),
            secret_hash: "00ff".into(),
            module: None,
            admin: true,
            label: None,
            lifetime_ms: None,
        })
        .await
        .unwrap();
    assert!(operator.admin && operator.module.is_none());
    assert_eq!(
        s.token("tok-operator").await.unwrap(),
        Some(operator.clone())
    );
    assert_eq!(
        other.token("tok-laptop").await.unwrap(),
        Some(laptop.clone())
    );
    assert_eq!(s.token("no-such-token").await.unwrap(), None);
    assert_eq!(
        s.tokens().await.unwrap(),
        vec![operator.clone(), laptop.clone()],
        "newest first"
    );

    let duplicate = s
        .insert_token(&NewToken {
            id: "tok-laptop".into(),
            secret_hash: "other".into(),
            module: None,
            admin: true,
            label: None,
            lifetime_ms: None,
        })
        .await;
    assert!(
        duplicate.is_err(),
        "a token id is taken once: {duplicate:?}"
    );
    assert_eq!(s.token("tok-laptop").await.unwrap(), Some(laptop.clone()));

    assert!(s.revoke_token("tok-laptop").await.unwrap(), "revoked now");
    let revoked = other.token("tok-laptop").await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some_and(|at| at >= laptop.created_at));
    assert!(
        !other.revoke_token("tok-laptop").await.unwrap(),
        "already revoked"
    );
    let e = s.revoke_token("no-such-token").await.unwrap_err();
    assert!(matches!(e, StoreError::BadValue(_)), "{e}");
    assert!(e.to_string().contains("no-such-token"), "{e}");

    s.touch_token("tok-operator", 1_234).await.unwrap();
    assert_eq!(
        other
            .token("tok-operator")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(1_234)
    );
    s.touch_token("no-such-token", 1_234).await.unwrap();

    let e = s
        .insert_token(&NewToken {
            id: "tok-long".into(),
            secret_hash: "00".into(),
            module: None,
            admin: false,
            label: Some("l".repeat(201)),
            lifetime_ms: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::TooLong {
                field: "token label",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(s.tokens().await.unwrap().len(), 2);
}

/// A token past its lifetime reads as expired, by the store's clock (on
/// PostgreSQL the database's, which every node shares).
pub async fn a_token_past_its_lifetime_reads_as_expired(b: &impl Backend) {
    let s = b.open("main");
    let brief = s
        .insert_token(&NewToken {
            id: "tok-brief".into(),
            secret_hash: "ab".repeat(32),
            module: Some("marker".into()),
            admin: false,
            label: None,
            lifetime_ms: Some(1),
        })
        .await
        .unwrap();
    clock_past(brief.created_at + 1).await;
    let read = s.token("tok-brief").await.unwrap().expect("stored");
    assert!(read.expired, "{read:?}");
    let listed = s.tokens().await.unwrap();
    assert!(listed.iter().all(|t| t.expired), "{listed:?}");
}
