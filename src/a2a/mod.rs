//! A2A (issue 31): every module reachable as an A2A 1.0 agent on the
//! daemon's TCP face, under `/a2a/{module}`.
//!
//! ```text
//!  A2A client ─ GET  /a2a/{module}/.well-known/agent-card.json ─► card.rs (from the descriptor)
//!     │        ─ GET  /a2a ──────────────────────────────────────► the directory of cards
//!     └──────── POST /a2a/{module}  JSON-RPC (rpc.rs) ──► tasks.rs ──► hub (send_detached,
//!               SendMessage, GetTask, CancelTask;          answer_question, job_with_answer,
//!               SendStreamingMessage, SubscribeToTask ──► stream.rs (SSE)  cancel_job, wait_job)
//! ```
//!
//! * A `contextId` is a conversation and a task is a question (its id is
//!   the stored query's): a task lives in the store, so `GetTask` works
//!   from any process, after a stream was cut, and across restarts.
//! * The agent asking back (`ask_asker`) is `input-required`, with the
//!   question as the status message; a message with the task's `taskId`
//!   answers it (only the asking module may).
//! * Bearer tokens are the daemon's: a module token asks as its module;
//!   an admin token names the asking module in the message's metadata
//!   (`"asker"`). Cards need a token too (any valid one): they name the
//!   modules, which only token holders may learn.
//! * Faces import the hub only (`tests/offline/layers.rs`); the JSON is
//!   this crate's own serde types (`a2a_link/wire.rs`, shared with the
//!   client that asks A2A agents registered as modules).

mod card;
mod rpc;
mod stream;
mod tasks;
mod v03;

pub use crate::a2a_link::wire;

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::hub::{AuthError, Caller, Hub, bearer_token};
pub use card::{A2A_PATH, CARD_PATH};
use rpc::{Method, RpcError, code};
use tasks::Asking;

/// The largest JSON-RPC body taken (the same bound as `/mcp`'s).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What the A2A face's handlers share.
pub struct A2aFace {
    hub: Arc<Hub>,
    /// `https` behind TLS, else `http`: the scheme of the cards' URLs.
    scheme: &'static str,
}

impl A2aFace {
    pub fn new(hub: Arc<Hub>, tls: bool) -> A2aFace {
        A2aFace {
            hub,
            scheme: if tls { "https" } else { "http" },
        }
    }

    /// `scheme://host` as the client reached us (its `Host`).
    fn origin(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("{}://{host}", self.scheme)
    }
}

/// The A2A routes, behind their own bearer check, to merge into the TCP
/// face.
pub fn router(face: A2aFace) -> axum::Router {
    let face = Arc::new(face);
    let card_route = format!("{A2A_PATH}/{{module}}/{CARD_PATH}");
    let old_card_route = format!("{A2A_PATH}/{{module}}/{}", card::OLD_CARD_PATH);
    axum::Router::new()
        .route(A2A_PATH, get(directory))
        .route(&format!("{A2A_PATH}/"), get(directory))
        .route(&card_route, get(agent_card))
        .route(&old_card_route, get(agent_card))
        .route(
            &format!("{A2A_PATH}/{{module}}"),
            get(agent_card).post(rpc_call),
        )
        .route(
            &format!("{A2A_PATH}/{{module}}/"),
            get(agent_card).post(rpc_call),
        )
        .layer(from_fn_with_state(face.clone(), require_token))
        .with_state(face)
}

/// 401 with an RFC 6750 challenge; the words never include the token.
fn unauthorized(error: &AuthError) -> Response {
    let mut response = answer(
        StatusCode::UNAUTHORIZED,
        json!({"error": format!("unauthorized: {error}")}),
    );
    if let Ok(value) = HeaderValue::from_str(&error.challenge()) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn bearer_of(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers.get(header::AUTHORIZATION).map(HeaderValue::to_str);
    bearer_token(value.transpose().map_err(|_| AuthError::Malformed)?)
}

/// Every A2A route needs a valid token; the caller goes on in the request.
async fn require_token(
    State(face): State<Arc<A2aFace>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match bearer_of(request.headers()) {
        Ok(token) => face.hub.tokens().authenticate(token).await,
        Err(e) => Err(e),
    };
    match caller {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => {
            tracing::warn!(path = %request.uri().path(), reason = %error, "A2A request refused");
            unauthorized(&error)
        }
    }
}

fn unknown_module(name: &str) -> Response {
    answer(
        StatusCode::NOT_FOUND,
        json!({"error": format!("no module named \"{name}\" is registered; GET {A2A_PATH} lists the agents")}),
    )
}

async fn directory(State(face): State<Arc<A2aFace>>, headers: HeaderMap) -> Response {
    let modules: Vec<_> = face
        .hub
        .modules()
        .names()
        .iter()
        .filter_map(|name| face.hub.modules().descriptor(name).ok())
        .collect();
    answer(
        StatusCode::OK,
        card::directory(&face.origin(&headers), &modules),
    )
}

async fn agent_card(
    State(face): State<Arc<A2aFace>>,
    Path(module): Path<String>,
    headers: HeaderMap,
) -> Response {
    match face.hub.modules().descriptor(&module) {
        Ok(descriptor) => answer(
            StatusCode::OK,
            card::card(&face.origin(&headers), &descriptor),
        ),
        Err(_) => unknown_module(&module),
    }
}

/// A JSON body (a card, a JSON-RPC answer) with its HTTP status.
fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Whether the client's `A2A-Version` (absent: taken as the version its
/// method names are of) is served: 1.0, and 0.3 with 0.3's names.
fn version_error(headers: &HeaderMap, legacy: bool) -> Option<RpcError> {
    let asked = headers.get(wire::VERSION_HEADER)?;
    let asked = asked.to_str().unwrap_or("?").trim();
    let major_minor = |v: &str| asked == v || asked.starts_with(&format!("{v}."));
    if (!legacy && (asked == "1" || major_minor("1.0"))) || (legacy && major_minor("0.3")) {
        return None;
    }
    let served = if legacy {
        "0.3's method names are answered as A2A 0.3"
    } else {
        "this server speaks A2A 1.0 (and 0.3 under 0.3's method names)"
    };
    Some(RpcError::new(
        code::VERSION_NOT_SUPPORTED,
        format!("A2A-Version {asked:?} is not served: {served}"),
    ))
}

async fn rpc_call(
    State(face): State<Arc<A2aFace>>,
    Path(module): Path<String>,
    axum::Extension(caller): axum::Extension<Caller>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    if !face.hub.modules().has(&module) {
        return unknown_module(&module);
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.contains("json"));
    if !json_body {
        let error = RpcError::new(
            code::INVALID_REQUEST,
            "Content-Type must be application/json",
        );
        return answer(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            rpc::error(&Value::Null, &error),
        );
    }
    let body = match axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            let error = RpcError::new(
                code::INVALID_REQUEST,
                format!("the body is over {MAX_BODY_BYTES} bytes"),
            );
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                rpc::error(&Value::Null, &error),
            );
        }
    };
    let parsed = match rpc::parse(&body) {
        Ok(parsed) => parsed,
        Err((id, error)) => return answer(StatusCode::OK, rpc::error(&id, &error)),
    };
    let (id, legacy) = (parsed.id.clone(), parsed.legacy);
    if let Some(error) = version_error(&headers, legacy) {
        return answer(StatusCode::OK, rpc::error(&id, &error));
    }
    let asking = Asking { caller, module };
    match dispatch(&face, asking, parsed).await {
        Ok(Reply::Result(result)) if legacy => {
            answer(StatusCode::OK, rpc::result(&id, v03::result(result)))
        }
        Ok(Reply::Result(result)) => answer(StatusCode::OK, rpc::result(&id, result)),
        Ok(Reply::Stream(response)) => response,
        Err(error) => answer(StatusCode::OK, rpc::error(&id, &error)),
    }
}

enum Reply {
    Result(Value),
    Stream(Response),
}

fn to_value(value: impl serde::Serialize) -> Result<Reply, RpcError> {
    serde_json::to_value(value)
        .map(Reply::Result)
        .map_err(|e| RpcError::new(code::INTERNAL, format!("cannot write the result: {e}")))
}

async fn dispatch(
    face: &A2aFace,
    asking: Asking,
    request: rpc::Request,
) -> Result<Reply, RpcError> {
    let hub = &face.hub;
    match request.method? {
        Method::SendMessage => {
            let started = tasks::start(hub, &asking, rpc::params(request.params)?, None).await?;
            let task = if started.immediately {
                tasks::get(hub, &asking, task_params(&started.task_id)).await?
            } else {
                tasks::settled(hub, &asking, &started.task_id).await?
            };
            to_value(json!({ "task": task }))
        }
        Method::SendStreamingMessage => {
            // The agent's progress becomes status updates of the stream.
            let (sink, progress) = stream::progress_channel();
            let params = rpc::params(request.params)?;
            let started = tasks::start(hub, &asking, params, Some(sink)).await?;
            let first = tasks::get(hub, &asking, task_params(&started.task_id)).await?;
            Ok(Reply::Stream(stream::follow(
                hub.clone(),
                asking,
                (request.id, request.legacy),
                (started.task_id, first),
                Some(progress),
            )))
        }
        Method::SubscribeToTask => {
            let params: wire::TaskIdParams = rpc::params(request.params)?;
            let first = tasks::get(hub, &asking, task_params(&params.id)).await?;
            if first.status.state.is_terminal() {
                return Err(RpcError::unsupported(format!(
                    "task {} has ended ({}); GetTask reads it",
                    first.id,
                    task_state_word(first.status.state)
                )));
            }
            Ok(Reply::Stream(stream::follow(
                hub.clone(),
                asking,
                (request.id, request.legacy),
                (first.id.clone(), first),
                None,
            )))
        }
        Method::GetTask => to_value(tasks::get(hub, &asking, rpc::params(request.params)?).await?),
        Method::CancelTask => {
            to_value(tasks::cancel(hub, &asking, rpc::params(request.params)?).await?)
        }
    }
}

fn task_params(id: &str) -> wire::TaskIdParams {
    wire::TaskIdParams {
        id: id.to_string(),
        history_length: None,
    }
}

fn task_state_word(state: wire::TaskState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
