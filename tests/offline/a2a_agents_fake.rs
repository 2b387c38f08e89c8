//! A2A agents as modules (issue 31) against misbehaving agents, stood in
//! by a tiny HTTP server on loopback: a card that is not JSON, a card
//! whose interface is plain HTTP off loopback, an agent that never
//! answers (the request's deadline ends it), a token variable that is not
//! set. Each ends the question `failed` with words naming the problem;
//! nothing stays pending. `doctor` reads each A2A module's card, or says
//! why it cannot.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common;

use claude_comms::hub::{CheckStatus, Hub, HubError, SendRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the stand-in answers a request for `path`: a JSON body, or
/// nothing ever (the connection stays open).
type Answer = fn(&str, u16) -> Option<String>;

/// Serves `answer` on a free loopback port; the port.
async fn stand_in(answer: Answer) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                match answer(&path, port) {
                    Some(body) => {
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(reply.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(120)).await,
                }
            });
        }
    });
    port
}

fn card(rpc_url: &str) -> String {
    serde_json::json!({"name": "vendor", "capabilities": {"streaming": false},
        "supportedInterfaces": [{"url": rpc_url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}]})
    .to_string()
}

/// A hub whose module `vendor` is the A2A agent at `url`.
fn hub_with_vendor(url: &str, token_env: Option<&str>) -> (tempfile::TempDir, Arc<Hub>) {
    let home = common::home_with(&common::fake_child_toml());
    let descriptors = home.path().join("descriptors");
    std::fs::create_dir_all(&descriptors).unwrap();
    let token = token_env.map_or(String::new(), |v| format!("  token_env: {v}\n"));
    std::fs::write(
        descriptors.join("vendor.yaml"),
        format!("name: vendor\nversion: \"1\"\ndescription: d\na2a:\n  url: \"{url}\"\n{token}"),
    )
    .unwrap();
    let hub = common::hub_in(home.path());
    (home, hub)
}

/// Asks vendor (2 s deadline); the failure's words, once the job is no
/// longer pending.
async fn failure_of(hub: &Arc<Hub>) -> String {
    let sent = hub
        .messaging()
        .send(SendRequest {
            source: Some("marker".into()),
            target: Some("vendor".into()),
            message: "hello".into(),
            timeout_s: Some(2),
            ..SendRequest::default()
        })
        .await;
    let Err(HubError::QueryFailed {
        explanation,
        message_id,
        ..
    }) = sent
    else {
        panic!("expected a failed query: {sent:?}");
    };
    let job = hub.jobs().get(&message_id).await.unwrap();
    assert_eq!(job.status, "failed", "nothing stays pending: {job:?}");
    explanation
}

#[tokio::test]
async fn a_card_that_is_not_json_fails_the_question_naming_the_card() {
    let port = stand_in(|_, _| Some("<html>hello</html>".into())).await;
    let (_home, hub) = hub_with_vendor(&format!("http://127.0.0.1:{port}"), None);
    let words = failure_of(&hub).await;
    assert!(
        words.contains(&format!(
            "the A2A agent's card at http://127.0.0.1:{port}/.well-known/agent-card.json is not usable: not JSON"
        )),
        "{words}"
    );
    hub.shutdown().await;
}

#[tokio::test]
async fn a_card_pointing_at_plain_http_off_loopback_is_refused() {
    let port = stand_in(|_, _| Some(card("http://192.0.2.7:8080/rpc"))).await;
    let (_home, hub) = hub_with_vendor(&format!("http://127.0.0.1:{port}/card.json"), None);
    let words = failure_of(&hub).await;
    assert!(
        words.contains("its JSON-RPC interface: the A2A agent's URL http://192.0.2.7:8080/rpc: plain http:// to 192.0.2.7, which is not a loopback address"),
        "{words}"
    );
    hub.shutdown().await;
}

#[tokio::test]
async fn an_agent_that_never_answers_is_given_up_at_the_deadline() {
    let port = stand_in(|path, port| {
        path.ends_with(".json")
            .then(|| card(&format!("http://127.0.0.1:{port}/rpc")))
    })
    .await;
    let (_home, hub) = hub_with_vendor(&format!("http://127.0.0.1:{port}"), None);
    let started = Instant::now();
    let words = failure_of(&hub).await;
    assert!(
        words.contains("timed out after 2s (waiting for the A2A agent of \"vendor\""),
        "{words}"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "bounded");
    hub.shutdown().await;
}

#[tokio::test]
async fn a_token_variable_that_is_not_set_is_named() {
    let (_home, hub) = hub_with_vendor("http://127.0.0.1:9", Some("CC_TEST_UNSET_A2A_TOKEN"));
    let words = failure_of(&hub).await;
    assert!(
        words.contains("environment variable CC_TEST_UNSET_A2A_TOKEN (a2a.token_env) is not set"),
        "{words}"
    );
    hub.shutdown().await;
}

#[tokio::test]
async fn doctor_reads_each_a2a_module_s_card_and_says_why_it_cannot() {
    let port = stand_in(|_, port| Some(card(&format!("http://127.0.0.1:{port}/rpc")))).await;
    let (_home, hub) = hub_with_vendor(&format!("http://127.0.0.1:{port}"), None);
    let checks = hub.maintenance().doctor(false).await;
    let vendor = checks.iter().find(|c| c.name == "module vendor").unwrap();
    assert_eq!(vendor.status, CheckStatus::Ok, "{vendor:?}");
    assert!(
        vendor.detail.contains("card of \"vendor\" read at"),
        "{vendor:?}"
    );
    hub.shutdown().await;

    // Nothing listens on a port just freed.
    let free = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = free.local_addr().unwrap().port();
    drop(free);
    let (_home, hub) = hub_with_vendor(&format!("http://127.0.0.1:{closed}"), None);
    let checks = hub.maintenance().doctor(false).await;
    let vendor = checks.iter().find(|c| c.name == "module vendor").unwrap();
    assert_eq!(vendor.status, CheckStatus::Failed, "{vendor:?}");
    assert!(
        vendor.detail.contains("cannot reach the A2A agent"),
        "{vendor:?}"
    );
    assert!(vendor.fix.contains("a2a.url"), "{vendor:?}");
    hub.shutdown().await;
}
