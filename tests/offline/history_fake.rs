//! The recent history a hub keeps per conversation is always the whole
//! history: turns stored by another process in between reach the prompt.

use crate::common;

use claude_comms::hub::SendRequest;
use common::{fake_child_toml, hub_in};

fn follow_up(conversation: Option<String>, message: &str) -> SendRequest {
    SendRequest {
        source: Some("marker".into()),
        target: conversation.is_none().then(|| "arangodb".into()),
        message: message.into(),
        conversation_id: conversation,
        timeout_s: Some(30),
        ..Default::default()
    }
}

#[tokio::test]
async fn turns_written_by_another_hub_reach_the_next_prompt() {
    let home = common::home_with(&fake_child_toml());
    let (a, b) = (hub_in(home.path()), hub_in(home.path()));
    let first = a
        .messaging()
        .send(follow_up(None, "first from A"))
        .await
        .unwrap();
    let id = first.conversation_id.clone();
    b.messaging()
        .send(follow_up(Some(id.clone()), "second, from B"))
        .await
        .unwrap();
    // The fake child quotes its prompt: A's next prompt holds B's turn.
    let third = a
        .messaging()
        .send(follow_up(Some(id.clone()), "third from A"))
        .await
        .unwrap();
    let prompt = third.reply.unwrap_or_default();
    for turn in ["first from A", "second, from B", "third from A"] {
        assert!(
            prompt.contains(turn),
            "{turn:?} missing from the prompt: {prompt}"
        );
    }
    a.shutdown().await;
    b.shutdown().await;
}
