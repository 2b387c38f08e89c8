//! Standby stream processes and the memory cap, with the real `claude` CLI
//! against the stand-in model. Nothing here depends on timing: each step
//! waits for a condition with a deadline.

use crate::common;
use crate::model_stub;
use crate::real_children;

use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_comms::config::BackendKind;
use claude_comms::hub::{Hub, InstanceStatus, SendOutcome, SendRequest};
use model_stub::ModelStub;
use real_children::RealChildren;

fn stream_hub(
    home: &std::path::Path,
    real: &RealChildren,
    model: &ModelStub,
    memory_mb: Option<u64>,
) -> Arc<Hub> {
    let mut config = common::config_in(home);
    std::fs::create_dir_all(home.join("claude-home")).unwrap();
    config.config.instances = real.instances_config(model, &home.join("claude-home"));
    config.config.instances.backend = BackendKind::ClaudeStream;
    config.config.instances.max_warm_memory_mb = memory_mb;
    config.config.instances.claude_stream.max_warm = 8;
    Hub::open(config, None).unwrap()
}

async fn ask(
    hub: &Arc<Hub>,
    source: &str,
    conversation: Option<&str>,
    message: &str,
) -> SendOutcome {
    hub.messaging()
        .send(SendRequest {
            source: Some(source.into()),
            target: conversation.is_none().then(|| "arangodb".into()),
            message: message.into(),
            conversation_id: conversation.map(str::to_string),
            timeout_s: Some(60),
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn live_stream(hub: &Hub) -> Vec<InstanceStatus> {
    hub.instances()
        .local()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.backend == BackendKind::ClaudeStream && s.pid.is_some())
        .collect()
}

async fn wait_for_standby(hub: &Hub, other_than: &[String]) -> InstanceStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = live_stream(hub)
            .await
            .into_iter()
            .find(|s| s.standby && !other_than.contains(&s.instance_id))
        {
            return s;
        }
        if Instant::now() >= deadline {
            panic!("no standby came up: {:?}", hub.instances().local().await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[tokio::test]
async fn a_new_conversation_takes_the_standby_of_its_profile_and_another_starts_behind_it() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = common::home_with_modules(&["marker", "arangodb", "claude_mcp"], "");
    let hub = stream_hub(home.path(), &real, &model, None);

    let first = ask(&hub, "marker", None, "first conversation").await;
    let standby = wait_for_standby(&hub, &[]).await;
    assert!(standby.conversation_id.is_none());
    assert!(
        standby.rss_kib.unwrap_or(0) > 0,
        "RSS of the standby's tree: {standby:?}"
    );

    // A new conversation of the same pair (same profile) is answered by it.
    let second = ask(&hub, "marker", None, "second conversation").await;
    assert_eq!(
        second.instance_id.as_deref(),
        Some(standby.instance_id.as_str())
    );
    assert_eq!(
        second.reply.as_deref(),
        Some("stub model answer to: second conversation")
    );
    assert_ne!(second.conversation_id, first.conversation_id);
    let taken = hub.instances().status(&standby.instance_id).await.unwrap();
    assert_eq!(
        taken.conversation_id.as_deref(),
        Some(second.conversation_id.as_str())
    );
    assert!(!taken.standby);
    // ... and a new standby is started behind it.
    let behind = wait_for_standby(&hub, std::slice::from_ref(&standby.instance_id)).await;

    // Another asker's query carries another profile (its hop chain): it
    // never takes marker's standby.
    let other = ask(&hub, "claude_mcp", None, "from elsewhere").await;
    assert_ne!(
        other.instance_id.as_deref(),
        Some(behind.instance_id.as_str())
    );
    assert!(
        hub.instances()
            .status(&behind.instance_id)
            .await
            .unwrap()
            .standby,
        "marker's standby is still standing by"
    );
    hub.shutdown().await;
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[tokio::test]
async fn the_memory_budget_holds_under_a_burst_of_new_conversations() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = common::home_with("");
    // 1 MB: room for no second `claude` (each holds hundreds of MB), so
    // at most one stream process may run at any time, and no standby.
    let hub = stream_hub(home.path(), &real, &model, Some(1));
    let mut conversations = Vec::new();
    for i in 0..4 {
        let outcome = ask(&hub, "marker", None, &format!("burst {i}")).await;
        let live = live_stream(&hub).await;
        assert_eq!(live.len(), 1, "after conversation {i}: {live:?}");
        assert!(!live[0].standby);
        conversations.push(outcome.conversation_id);
    }
    // An evicted conversation resumes its session (the model sees the
    // earlier turn again) and the cap still holds.
    let again = ask(&hub, "marker", Some(&conversations[0]), "and again").await;
    assert_eq!(
        again.reply.as_deref(),
        Some("stub model answer to: and again")
    );
    let last = model.requests().last().cloned().unwrap();
    assert!(
        model_stub::request_text(&last).contains("burst 0"),
        "resumed with its history"
    );
    assert_eq!(live_stream(&hub).await.len(), 1);
    hub.shutdown().await;
}
