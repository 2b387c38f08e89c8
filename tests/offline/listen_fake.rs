//! Protocol 2026-07-28 in process: an rmcp client without `initialize`
//! (discovery, then `_meta` on every request) hears conversation updates
//! through `subscriptions/listen`, as older clients do through
//! `resources/subscribe`.

use std::time::Duration;

use crate::common;

use common::{call, connect_stateless, fake_child_toml, home_with, hub_in, ok_value};
use rmcp::model::{ServerNotification, SubscriptionFilter};
use serde_json::json;

#[tokio::test]
async fn a_2026_client_listens_to_a_conversation_and_hears_each_message() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect_stateless(hub.clone(), ()).await;
    let created = ok_value(
        &call(
            &client,
            "create_conversation",
            json!({"source": "marker", "target": "arangodb"}),
        )
        .await,
    );
    let uri = format!("conversation://{}", created["id"].as_str().unwrap());
    let mut subscription = client
        .listen(
            SubscriptionFilter::builder()
                .resource_subscription(uri.clone())
                .resource_subscription("module://marker")
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(
        subscription.acknowledged().resource_subscriptions,
        Some(vec![uri.clone()]),
        "only conversations change"
    );
    let sent = ok_value(
        &call(
            &client,
            "send_message",
            json!({"conversation_id": created["id"], "message": "anything new?"}),
        )
        .await,
    );
    assert_eq!(sent["status"], "delivered");
    let heard = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("an update within 10 s")
        .unwrap();
    match heard {
        Some(ServerNotification::ResourceUpdatedNotification(n)) => {
            assert_eq!(n.params.uri, uri)
        }
        other => panic!("expected a resource update, got {other:?}"),
    }
    drop(subscription);
    client.cancel().await.unwrap();
    hub.shutdown().await;
}
