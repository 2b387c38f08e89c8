//! A stand-in for `claude-code-mcp`, used by the fast test tier and the
//! benchmarks so that neither needs Node or the `claude` CLI.
//!
//! It speaks MCP over stdio and offers one tool shaped like the real one
//! (`claude_code {prompt, workFolder?}`). The answer quotes the prompt and the
//! working folder, so a test can see exactly what reached the child.
//!
//! Directives inside the prompt change its behaviour:
//! - `[[delay:MS]]`  answer after MS milliseconds
//! - `[[progress:N]]` send N progress notifications first (if the call has a token)
//! - `[[crash]]`     print "crashing" on stderr and exit with code 3
//! - `[[hang]]`      never answer
//! - `[[error:TEXT]]` answer with a JSON-RPC error carrying TEXT (as the real
//!   child does when the CLI fails)
//! - `[[garbage]]`   write a line that is not JSON-RPC to stdout, then exit 4
//! - `[[brief]]`     answer with a short fixed text instead of quoting the
//!   prompt (for long runs and benchmarks, where quoting would snowball)
//! - `[[huge:BYTES]]` answer with a text of BYTES bytes (one long line)
//! - `[[stderr:TEXT]]` write TEXT to stderr, then answer
//! - `[[stderr-line:BYTES]]` write one stderr line of BYTES bytes ending in `TAIL`
//! - `[[env]]`       answer with the loop guard's variables as the child sees them
//! - `[[answer-file:PATH]]` answer with the text of the file PATH
//! - `[[pingpong:A,B]]` ask the other of A and B (this child's module is its
//!   working folder's name) the same question through `$FAKE_CHILD_COMMS send`,
//!   with this child's environment, and answer with what that printed
//! - `[[askback:QUESTION]]` call the agent tools' `ask_asker {question}` as
//!   the real `claude` would (the MCP config the hub wrote for this prompt,
//!   found as the exec shim finds it), and answer with what it returned
//!
//! Like the real child under a module's permission policy (where its
//! `claude` is the claude-comms shim, which asks for stream-json output),
//! it answers in stream-json when `CLAUDE_COMMS_CLAUDE_SHIM` is set.
//!
//! Environment switches:
//! - `FAKE_CHILD_EXIT_AT_START=1` exit with code 2 before speaking MCP
//! - `FAKE_CHILD_TOOL_NAME=NAME` offer the tool under another name
//! - `FAKE_CHILD_HANG_AT_START=1` never answer `initialize`

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

struct FakeChild {
    tool_name: String,
}

impl ServerHandler for FakeChild {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("fake_claude_code", "0.0.0"))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "prompt": {"type": "string"},
                "workFolder": {"type": "string"}
            },
            "required": ["prompt"]
        });
        let serde_json::Value::Object(schema) = schema else {
            unreachable!()
        };
        Ok(ListToolsResult::with_all_items(vec![Tool::new(
            self.tool_name.clone(),
            "Answers with the prompt it was given (test double of claude-code-mcp).",
            Arc::new(schema),
        )]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name != self.tool_name {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {}", request.name),
                None,
            ));
        }
        let args = request.arguments.unwrap_or_default();
        let prompt = args
            .get("prompt")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ErrorData::invalid_params("prompt is required", None))?
            .to_string();
        let folder = args
            .get("workFolder")
            .and_then(|v| v.as_str())
            .unwrap_or("(none)")
            .to_string();

        if let Some(n) = directive(&prompt, "progress").and_then(|n| n.parse::<u32>().ok())
            && let Some(token) = context.meta.get_progress_token()
        {
            for i in 1..=n {
                let param = ProgressNotificationParam::new(token.clone(), f64::from(i))
                    .with_total(f64::from(n))
                    .with_message(format!("fake step {i}"));
                let _ = context.peer.notify_progress(param).await;
            }
        }
        if let Some(ms) = directive(&prompt, "delay").and_then(|n| n.parse::<u64>().ok()) {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                _ = context.ct.cancelled() => {
                    return Err(ErrorData::internal_error("cancelled", None));
                }
            }
        }
        if prompt.contains("[[crash]]") {
            eprintln!("crashing");
            std::process::exit(3);
        }
        if prompt.contains("[[garbage]]") {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"this is not json-rpc\n");
            let _ = out.flush();
            eprintln!("wrote garbage");
            std::process::exit(4);
        }
        if prompt.contains("[[hang]]") {
            std::future::pending::<()>().await;
        }
        if let Some(text) = directive(&prompt, "error") {
            return Err(ErrorData::internal_error(text.to_string(), None));
        }
        if let Some(text) = directive(&prompt, "stderr") {
            eprintln!("{text}");
        }
        if let Some(n) = directive(&prompt, "stderr-line").and_then(|n| n.parse::<usize>().ok()) {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&vec![b'e'; n]);
            let _ = err.write_all(b"TAIL\n");
        }
        if let Some(n) = directive(&prompt, "huge").and_then(|n| n.parse::<usize>().ok()) {
            return Ok(answer("x".repeat(n)));
        }
        if prompt.contains("[[env]]") {
            let var = |k: &str| std::env::var(k).unwrap_or_else(|_| "-".into());
            let text = format!(
                "env hop={} chain={}",
                var("CLAUDE_COMMS_HOP"),
                var("CLAUDE_COMMS_CHAIN")
            );
            return Ok(answer(text));
        }
        if let Some(path) = directive(&prompt, "answer-file") {
            return Ok(answer(
                std::fs::read_to_string(path)
                    .unwrap_or_else(|e| format!("answer-file {path}: {e}")),
            ));
        }
        if let Some(pair) = directive(&prompt, "pingpong") {
            return Ok(answer(pingpong(pair, &folder).await));
        }
        if let Some(question) = directive(&prompt, "askback") {
            return Ok(answer(ask_back(&prompt, question).await));
        }
        let text = if prompt.contains("[[brief]]") {
            format!("brief fake answer ({} prompt bytes)", prompt.len())
        } else {
            format!("fake answer from {folder}: {prompt}")
        };
        Ok(answer(text))
    }
}

/// The tool's answer: `text`, or under the policy shim the stream-json a
/// shimmed `claude` prints (its init and result lines).
fn answer(text: String) -> CallToolResponse {
    let text = if std::env::var_os("CLAUDE_COMMS_CLAUDE_SHIM").is_some() {
        let init = serde_json::json!({"type": "system", "subtype": "init", "session_id": "fake"});
        let result = serde_json::json!({"type": "result", "subtype": "success", "is_error": false, "result": text, "session_id": "fake"});
        format!("{init}\n{result}\n")
    } else {
        text
    };
    CallToolResult::success(vec![ContentBlock::text(text)]).into()
}

/// Asks the other module of `pair` the same pingpong question through the
/// claude-comms CLI, as an answering agent with claude-comms as a tool would.
async fn pingpong(pair: &str, folder: &str) -> String {
    let me = std::path::Path::new(folder)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let other = pair
        .split(',')
        .find(|m| *m != me)
        .unwrap_or(&me)
        .to_string();
    let Ok(comms) = std::env::var("FAKE_CHILD_COMMS") else {
        return "pingpong: FAKE_CHILD_COMMS is not set".into();
    };
    let out = tokio::process::Command::new(comms)
        .args([
            "send",
            "--from",
            &me,
            "--to",
            &other,
            &format!("[[pingpong:{pair}]]"),
        ])
        // The agent's environment, as the shim leaves it for `claude`.
        .env_remove("CLAUDE_COMMS_CLAUDE_SHIM")
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    match out {
        Ok(out) => format!(
            "{me} asked {other}: {} {}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("pingpong: cannot run claude-comms: {e}"),
    }
}

/// Calls `ask_asker {question}` of the agent tools the hub gave the
/// question whose prompt is `prompt`; "asked back: " and what it returned.
async fn ask_back(prompt: &str, question: &str) -> String {
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    let spec: Option<claude_comms::policy::shim::ShimSpec> =
        std::env::var("CLAUDE_COMMS_CLAUDE_SHIM")
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
    let Some(dir) = spec.and_then(|s| s.agent_tools) else {
        return "askback: this child has no agent tools".into();
    };
    let config = claude_comms::policy::agent_tools::config_for_prompt(&dir, prompt);
    let Ok(text) = std::fs::read_to_string(&config) else {
        return format!("askback: no agent tools config at {}", config.display());
    };
    let config: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let server = &config["mcpServers"]["comms"];
    let command = server["command"].as_str().unwrap_or_default().to_string();
    let args: Vec<String> = server["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let Ok(transport) =
        TokioChildProcess::new(tokio::process::Command::new(command).configure(|c| {
            c.args(&args).env_remove("CLAUDE_COMMS_CLAUDE_SHIM");
        }))
    else {
        return "askback: cannot start the agent tools".into();
    };
    let client = match ().serve(transport).await {
        Ok(client) => client,
        Err(e) => return format!("askback: cannot talk to the agent tools: {e}"),
    };
    let mut arguments = serde_json::Map::new();
    arguments.insert("question".into(), question.into());
    let called = client
        .call_tool(CallToolRequestParams::new("ask_asker").with_arguments(arguments))
        .await;
    let _ = client.cancel().await;
    match called {
        Ok(result) => {
            let text: Vec<String> = result
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect();
            format!("asked back: {}", text.join(" "))
        }
        Err(e) => format!("askback: the call failed: {e}"),
    }
}

/// The argument of `[[name:ARG]]` in `prompt`, if present.
fn directive<'a>(prompt: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("[[{name}:");
    let start = prompt.find(&open)? + open.len();
    let end = prompt[start..].find("]]")? + start;
    Some(&prompt[start..end])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("FAKE_CHILD_EXIT_AT_START").is_some() {
        eprintln!("fake child: told to exit at start");
        std::process::exit(2);
    }
    if std::env::var_os("FAKE_CHILD_HANG_AT_START").is_some() {
        eprintln!("fake child: told never to answer initialize");
        std::future::pending::<()>().await;
    }
    let tool_name = std::env::var("FAKE_CHILD_TOOL_NAME").unwrap_or_else(|_| "claude_code".into());
    let service = FakeChild { tool_name }
        .serve(rmcp::transport::stdio())
        .await?;
    service.waiting().await?;
    Ok(())
}
