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
    Hub::open(config_in(home), None).expect("hub opens")
}

/// A new conversation in which `source` asks `target` (no title, the
/// configured backend).
pub async fn new_conversation(
    hub: &Hub,
    source: &str,
    target: &str,
) -> claude_comms::store::Conversation {
    hub.conversations()
        .create(claude_comms::hub::NewConversationRequest {
            source: Some(source.into()),
            target: target.into(),
            title: None,
            backend: None,
        })
        .await
        .expect("conversation created")
}

/// Serves `hub` over in-memory pipes through the same transport as `serve`;
/// returns the client's end.
fn serve_in_memory(hub: Arc<Hub>) -> tokio::io::DuplexStream {
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
    client_side
}

/// Serves `hub` over in-memory pipes through the same transport as `serve`,
/// and connects `client` (any rmcp client handler) to it.
pub async fn connect_with<C: rmcp::ClientHandler>(
    hub: Arc<Hub>,
    client: C,
) -> RunningService<RoleClient, C> {
    let (client_read, client_write) = tokio::io::split(serve_in_memory(hub));
    client
        .serve((client_read, client_write))
        .await
        .expect("client connects")
}

/// Like [`connect_with`], for a client of protocol 2026-07-28: no
/// `initialize`, `server/discover` first, and `_meta` on every request.
pub async fn connect_stateless<C: rmcp::ClientHandler>(
    hub: Arc<Hub>,
    client: C,
) -> RunningService<RoleClient, C> {
    use rmcp::ClientServiceExt;
    let (client_read, client_write) = tokio::io::split(serve_in_memory(hub));
    client
        .serve_with_lifecycle(
            (client_read, client_write),
            rmcp::ClientLifecycleMode::Discover {
                preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("client connects")
}

/// An rmcp client with no handler of its own, connected to `hub`.
pub async fn connect(hub: Arc<Hub>) -> RunningService<RoleClient, ()> {
    connect_with(hub, ()).await
}

pub fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A throw-away home whose config points the modules `marker`, `arangodb`
/// and `claude_mcp` at folders inside it and answers with `instances_toml`
/// (a TOML fragment for the `[instances...]` tables).
pub fn home_with(instances_toml: &str) -> tempfile::TempDir {
    home_with_modules(&["marker", "arangodb", "claude_mcp"], instances_toml)
}

/// A throw-away home whose config points each of `modules` at a folder
/// inside it, followed by `instances_toml`. Its processes own their
/// children (`hub = "embedded"`); the daemon's tests ask for one with
/// `CLAUDE_COMMS_HUB=auto`, and stop it.
pub fn home_with_modules(modules: &[&str], instances_toml: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("temp dir");
    let mut config = String::from("hub = \"embedded\"\n[module_paths]\n");
    for module in modules {
        let folder = home.path().join("modules").join(module);
        std::fs::create_dir_all(&folder).unwrap();
        config.push_str(&format!("{module} = {:?}\n", folder.display().to_string()));
    }
    config.push_str(instances_toml);
    std::fs::write(home.path().join("config.toml"), config).unwrap();
    home
}

/// Instance settings that answer with the in-repo fake child.
pub fn fake_child_toml() -> String {
    format!(
        "[instances.claude_code_mcp]\ncommand = {:?}\nargs = []\n",
        env!("CARGO_BIN_EXE_fake-mcp-child")
    )
}

/// What a test client heard from the server besides answers.
#[derive(Debug, Clone)]
pub enum Heard {
    Progress(rmcp::model::ProgressNotificationParam),
    ResourceUpdated(String),
}

/// A client that forwards notifications to a channel.
#[derive(Clone)]
pub struct Listener(pub tokio::sync::mpsc::UnboundedSender<Heard>);

impl rmcp::ClientHandler for Listener {
    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(Heard::Progress(params));
    }

    async fn on_resource_updated(
        &self,
        params: rmcp::model::ResourceUpdatedNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(Heard::ResourceUpdated(params.uri));
    }
}

/// Like [`connect`], with a client that reports notifications.
pub async fn connect_listening(
    hub: Arc<Hub>,
) -> (
    RunningService<RoleClient, Listener>,
    tokio::sync::mpsc::UnboundedReceiver<Heard>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (connect_with(hub, Listener(tx)).await, rx)
}

/// Calls a tool and returns its result (tool errors included).
pub async fn call<S: rmcp::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
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

/// The structured content of a successful call (panics with the text otherwise).
pub fn ok_value(result: &CallToolResult) -> serde_json::Value {
    assert_ne!(
        result.is_error,
        Some(true),
        "tool failed: {}",
        text_of(result)
    );
    result
        .structured_content
        .clone()
        .expect("structured content")
}

/// Runs git in `dir` with a throw-away identity and no user or system
/// config, so the test never reads or writes the real home's.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
