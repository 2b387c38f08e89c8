//! One `claude-code-mcp` child (or a fork of it): an MCP client session over
//! the child's stdin/stdout. Many calls share it concurrently; JSON-RPC ids
//! keep them apart.

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, ClientRequest, PingRequest};
use rmcp::service::{RunningService, ServiceError};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value};

use tokio::io::AsyncWriteExt;
use tokio_util::task::TaskTracker;

use super::lines::{BoundedLines, Line};
use super::process::{ChildProcess, Launch, StderrLog};
use super::{ANSWER_LINE_MAX, InstanceError, STDERR_TAIL_IN_ERRORS};
use crate::config::ClaudeCodeMcpConfig;

/// How long a child may take to start and answer `initialize` + `tools/list`
/// (npx may first have to unpack the package).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a health `ping` may take.
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);

pub struct McpChild {
    pub process: ChildProcess,
    service: RunningService<RoleClient, ()>,
    tool_name: String,
    prompt_arg: String,
    workdir_arg: String,
    log: Arc<StderrLog>,
}

impl McpChild {
    /// Starts the child, completes the MCP handshake and checks with
    /// `tools/list` that the configured tool takes the configured arguments.
    pub async fn start(
        config: &ClaudeCodeMcpConfig,
        extra_env: Vec<(String, String)>,
        log: Arc<StderrLog>,
        tasks: &TaskTracker,
    ) -> Result<McpChild, InstanceError> {
        let mut env: Vec<(String, String)> = config.env.clone().into_iter().collect();
        env.extend(extra_env);
        let launch = Launch {
            command: config.command.clone(),
            args: config.args.clone(),
            env,
            cwd: None,
        };
        let mut process = ChildProcess::spawn(&launch, log.clone(), tasks)
            .map_err(|e| InstanceError::StartFailed(e.to_string()))?;
        let (Some(stdout), Some(stdin)) = (process.stdout.take(), process.stdin.take()) else {
            return Err(InstanceError::StartFailed(
                "the child's stdin or stdout is not a pipe".into(),
            ));
        };
        let stdout = guard_answers(stdout, log.clone(), tasks);
        let started = tokio::time::timeout(START_TIMEOUT, async {
            let service = ().serve((stdout, stdin)).await.map_err(|e| e.to_string())?;
            let tools = service.list_all_tools().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((service, tools))
        })
        .await;
        let failure = |why: String| {
            let tail = log.tail(STDERR_TAIL_IN_ERRORS);
            InstanceError::StartFailed(format!(
                "`{} {}` did not start as an MCP server: {why}{}",
                config.command,
                config.args.join(" "),
                tail_text(&tail)
            ))
        };
        let (service, tools) = match started {
            Ok(Ok(ok)) => ok,
            Ok(Err(e)) => {
                // Let the exit and the child's last stderr lines be recorded
                // so the message can say how it ended and why.
                process.settle(Duration::from_millis(1000)).await;
                let how = process
                    .has_exited()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                process.stop().await;
                return Err(failure(format!("{e}{how}")));
            }
            Err(_) => {
                process.stop().await;
                return Err(failure(format!(
                    "no answer within {}s",
                    START_TIMEOUT.as_secs()
                )));
            }
        };
        let Some(tool) = tools.iter().find(|t| t.name == config.tool_name) else {
            let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
            process.stop().await;
            return Err(InstanceError::StartFailed(format!(
                "the child has no tool \"{}\" (it offers: {}); set instances.claude_code_mcp.tool_name",
                config.tool_name,
                names.join(", ")
            )));
        };
        let properties = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object);
        for arg in [&config.prompt_arg, &config.workdir_arg] {
            if properties.is_some_and(|p| !p.contains_key(arg.as_str())) {
                process.stop().await;
                return Err(InstanceError::StartFailed(format!(
                    "the child's tool \"{}\" has no argument \"{arg}\"; set instances.claude_code_mcp.prompt_arg / workdir_arg",
                    config.tool_name
                )));
            }
        }
        Ok(McpChild {
            process,
            service,
            tool_name: config.tool_name.clone(),
            prompt_arg: config.prompt_arg.clone(),
            workdir_arg: config.workdir_arg.clone(),
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid
    }

    pub fn is_alive(&self) -> bool {
        self.process.has_exited().is_none() && !self.service.peer().is_transport_closed()
    }

    /// Runs one query. Dropping the returned future (timeout, cancel) makes
    /// rmcp send `notifications/cancelled` to the child.
    pub async fn call(
        &self,
        prompt: &str,
        workdir: &std::path::Path,
    ) -> Result<String, InstanceError> {
        let mut arguments = Map::new();
        arguments.insert(self.prompt_arg.clone(), Value::String(prompt.to_string()));
        arguments.insert(
            self.workdir_arg.clone(),
            Value::String(workdir.display().to_string()),
        );
        let request = CallToolRequestParams::new(self.tool_name.clone()).with_arguments(arguments);
        match self.service.peer().call_tool(request).await {
            Ok(result) => {
                let text = result
                    .content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
                    .collect::<Vec<_>>()
                    .join("\n")
                    // claude-code-mcp passes on the CLI's stdout, which ends
                    // with the newline `claude -p` prints after the answer.
                    .trim_end()
                    .to_string();
                if result.is_error == Some(true) {
                    Err(InstanceError::ChildError(text))
                } else {
                    Ok(text)
                }
            }
            Err(ServiceError::McpError(e)) => Err(InstanceError::ChildError(e.message.to_string())),
            Err(e) => Err(self.died(e.to_string()).await),
        }
    }

    /// A health check: the child must answer `ping` in time.
    pub async fn ping(&self) -> Result<(), String> {
        let ping = self
            .service
            .peer()
            .send_request(ClientRequest::PingRequest(PingRequest::default()));
        match tokio::time::timeout(PING_TIMEOUT, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("ping failed: {e}")),
            Err(_) => Err(format!(
                "no answer to ping within {}s",
                PING_TIMEOUT.as_secs()
            )),
        }
    }

    /// The error for a request whose child went away: how it ended and what
    /// it last said on stderr.
    async fn died(&self, transport_error: String) -> InstanceError {
        // Its exit and its last stderr lines are what the caller needs.
        self.process
            .settle(std::time::Duration::from_millis(1000))
            .await;
        let exit = self.process.has_exited();
        InstanceError::ChildDied {
            pid: self.process.pid,
            exit: exit
                .map(|e| e.to_string())
                .unwrap_or_else(|| transport_error.clone()),
            stderr_tail: self.log.tail(STDERR_TAIL_IN_ERRORS),
        }
    }

    pub async fn stop(self) {
        let McpChild {
            process, service, ..
        } = self;
        // Closing stdin first lets a well-behaved server exit on its own.
        drop(service);
        process.stop().await;
    }
}

/// Passes the child's stdout on to the MCP client line by line, and turns a
/// line over [`ANSWER_LINE_MAX`] (which the client would drop silently,
/// leaving its caller waiting until the timeout) into an error answer for
/// the request it answers, naming its size.
fn guard_answers(
    stdout: tokio::process::ChildStdout,
    log: Arc<StderrLog>,
    tasks: &TaskTracker,
) -> tokio::io::DuplexStream {
    /// Room between the guard and the client; a line larger than this is
    /// written in pieces as the client reads.
    const PIPE_BYTES: usize = 64 << 10;
    let (mut to_client, client_side) = tokio::io::duplex(PIPE_BYTES);
    tasks.spawn(async move {
        let mut lines = BoundedLines::new(stdout, ANSWER_LINE_MAX);
        while let Ok(Some(line)) = lines.next_line().await {
            let text = match line {
                Line::Whole(text) => text,
                Line::Oversized { head, tail, len } => {
                    let why = format!(
                        "the child answered with a line of {len} bytes, over the limit of {ANSWER_LINE_MAX} bytes"
                    );
                    log.event("stdout", why.clone());
                    match request_id_of(&head, &tail) {
                        Some(id) => serde_json::json!({
                            "jsonrpc": "2.0",
                            "id": id,
                            "error": {"code": -32603, "message": why},
                        })
                        .to_string(),
                        None => continue,
                    }
                }
            };
            if to_client.write_all(text.as_bytes()).await.is_err()
                || to_client.write_all(b"\n").await.is_err()
            {
                break;
            }
        }
    });
    client_side
}

/// The JSON-RPC id of a response whose whole text is too long to parse,
/// from its first or last bytes (`{"jsonrpc":"2.0","id":7,...` or
/// `...,"jsonrpc":"2.0","id":7}`, as JavaScript SDKs write it).
fn request_id_of(head: &str, tail: &str) -> Option<Value> {
    let value_after = |text: &str, at: usize| -> Option<Value> {
        let rest = text[at + "\"id\":".len()..].trim_start();
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        serde_json::from_str::<Value>(rest[..end].trim())
            .ok()
            .filter(|v| v.is_number() || v.is_string())
    };
    let tail_end = tail.trim_end();
    if tail_end.ends_with('}')
        && let Some(at) = tail_end.rfind("\"id\":")
        && let Some(id) = value_after(tail_end, at)
    {
        return Some(id);
    }
    head.find("\"id\":").and_then(|at| value_after(head, at))
}

pub fn tail_text(tail: &[String]) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("; last stderr lines:\n{}", tail.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_of_an_oversized_answer_is_found_at_either_end() {
        assert_eq!(
            request_id_of(
                r#"{"result":{"content":[{"text":"xxx"#,
                r#"xxx"}]},"jsonrpc":"2.0","id":7}"#
            ),
            Some(serde_json::json!(7))
        );
        assert_eq!(
            request_id_of(r#"{"jsonrpc":"2.0","id":"a-1","result":{"#, r#"xxxx"}]}}"#),
            Some(serde_json::json!("a-1"))
        );
        assert_eq!(request_id_of("xxxx", "xxxx"), None);
    }
}
