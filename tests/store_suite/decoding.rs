//! A stored value that does not decode is an error that names its table,
//! column and row: never read as a default (a query whose status does not
//! parse is not "failed", a hop chain that does not parse is not empty).

use claude_comms::store::{ConversationFilter, StoreError};

use super::Backend;
use super::helpers::{ask, pair};

fn names(e: &StoreError, table: &str, column: &str, row: &str) -> bool {
    matches!(e, StoreError::Corrupt { table: t, column: c, row: r, .. }
        if *t == table && *c == column && r == row)
}

pub async fn a_stored_value_that_does_not_decode_is_an_error_naming_its_row(b: &impl Backend) {
    let s = b.open("main");
    let c = pair(&s).await;
    let q = ask(&s, &c.id, "about zeppelins", "srv").await;
    let other = pair(&s).await;

    b.damage(
        "main",
        &format!(
            "UPDATE messages SET status = 'exploded' WHERE id = '{}'",
            q.id
        ),
    );
    let e = s.message(&q.id).await.unwrap_err();
    assert!(names(&e, "messages", "status", &q.id), "{e:?}");
    assert!(e.to_string().contains("exploded"), "{e}");
    let e = s.messages(&c.id, None, None).await.unwrap_err();
    assert!(names(&e, "messages", "status", &q.id), "{e:?}");

    b.damage(
        "main",
        &format!(
            "UPDATE messages SET status = 'pending', hop_chain = 'not json' WHERE id = '{}'",
            q.id
        ),
    );
    let e = s.message(&q.id).await.unwrap_err();
    assert!(names(&e, "messages", "hop_chain", &q.id), "{e:?}");

    b.damage(
        "main",
        &format!(
            "UPDATE messages SET hop_chain = '[]', role = 'oracle' WHERE id = '{}'",
            q.id
        ),
    );
    let e = s.message(&q.id).await.unwrap_err();
    assert!(names(&e, "messages", "role", &q.id), "{e:?}");

    b.damage(
        "main",
        &format!(
            "UPDATE conversations SET metadata = '{{' WHERE id = '{}'",
            other.id
        ),
    );
    let e = s.conversation(&other.id).await.unwrap_err();
    assert!(names(&e, "conversations", "metadata", &other.id), "{e:?}");
    let e = s
        .list_conversations(&ConversationFilter::default())
        .await
        .unwrap_err();
    assert!(names(&e, "conversations", "metadata", &other.id), "{e:?}");
}
