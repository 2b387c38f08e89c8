//! The ledger through the real chain: MCP client -> claude-comms -> real
//! `claude` stream process -> the stand-in model, which reports token usage.
//! The CLI's result carries usage, cost, API time and turns; they are
//! stored with the reply, `get_stats` sums them, and a budget refuses.

use crate::common;
use crate::model_stub;
use crate::real_children;

use common::{call, connect, home_with, ok_value, text_of};
use model_stub::ModelStub;
use real_children::RealChildren;
use serde_json::json;

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[tokio::test]
async fn stream_replies_carry_usage_into_stats_and_a_budget_refuses_the_third() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = home_with("[budgets.pairs.\"marker->arangodb\"]\nmax_messages_per_hour = 2\n");
    let mut config = common::config_in(home.path());
    std::fs::create_dir_all(home.path().join("claude-home")).unwrap();
    config.config.instances = real.instances_config(&model, &home.path().join("claude-home"));
    config.config.instances.backend = claude_comms::config::BackendKind::ClaudeStream;
    let hub = claude_comms::hub::Hub::open(config, None).unwrap();
    let client = connect(hub.clone()).await;

    let first = ok_value(
        &call(
            &client,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": "Which collection?"}),
        )
        .await,
    );
    assert!(
        first["usage"]["output_tokens"].as_i64().unwrap_or(0) > 0,
        "{first}"
    );
    ok_value(
        &call(
            &client,
            "send_message",
            json!({"conversation_id": first["conversation_id"], "message": "And its key?"}),
        )
        .await,
    );
    let refused = call(
        &client,
        "send_message",
        json!({"conversation_id": first["conversation_id"], "message": "One more?"}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));
    assert!(
        text_of(&refused).contains("max_messages_per_hour")
            && text_of(&refused).contains("resets at"),
        "{}",
        text_of(&refused)
    );
    let requests_before = model.requests().len();

    let stats = ok_value(&call(&client, "get_stats", json!({"since": "1h"})).await);
    let pair = &stats["pairs"][0];
    assert_eq!(pair["source"], "marker");
    assert_eq!(
        pair["count"], 2,
        "the refused query is not counted: {stats}"
    );
    assert_eq!(pair["replies_without_usage"], 0, "{stats}");
    assert!(pair["tokens_in"].as_i64().unwrap() >= 20, "{stats}");
    assert!(pair["tokens_out"].as_i64().unwrap() >= 10, "{stats}");
    assert!(pair["cost_usd"].as_f64().is_some(), "{stats}");
    assert!(pair["latency_p50_ms"].as_i64().unwrap() > 0, "{stats}");

    // The refused query never reached the model.
    assert_eq!(model.requests().len(), requests_before);
    client.cancel().await.unwrap();
    hub.shutdown().await;
}
