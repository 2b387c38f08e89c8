//! Shared helpers for integration tests: a hub on a throw-away home, and an
//! rmcp client connected in-process to a `CommsServer`.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use claude_comms::config::{HOME_ENV, LoadedConfig, Overrides};
use claude_comms::hub::Hub;
use claude_comms::mcp::CommsServer;
use claude_comms::mcp::transport::StdioFrames;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};

/// A configuration whose data and config live under `home` only.
pub fn config_in(home: &Path) -> LoadedConfig {
    let home = home.display().to_string();
    LoadedConfig::load_with_env(&Overrides::default(), |k| {
        (k == HOME_ENV).then(|| home.clone())
    })
    .expect("config loads")
}

pub fn hub_in(home: &Path) -> Arc<Hub> {
    Hub::open(config_in(home), None)
}

/// Serves `hub` over in-memory pipes through the same transport as `serve`,
/// and returns an rmcp client connected to it.
pub async fn connect(hub: Arc<Hub>) -> RunningService<RoleClient, ()> {
    let (client_side, server_side) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_side);
    let (transport, _written) =
        StdioFrames::spawn(tokio::io::BufReader::new(server_read), server_write);
    tokio::spawn(async move {
        let service = CommsServer::new(hub)
            .serve(transport)
            .await
            .expect("server starts");
        let _ = service.waiting().await;
    });
    let (client_read, client_write) = tokio::io::split(client_side);
    ().serve((client_read, client_write))
        .await
        .expect("client connects")
}

pub async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    arguments: serde_json::Value,
) -> CallToolResult {
    let arguments = arguments
        .as_object()
        .cloned()
        .expect("arguments are an object");
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
        .await
        .expect("the call is answered")
}

pub fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}
