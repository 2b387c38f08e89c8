//! One persistent `claude -p --input-format stream-json --output-format
//! stream-json --verbose` process: fed one user message per turn, read until
//! its `result` line. Later turns skip the CLI's start-up (about 0.6 s).

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio_util::task::TaskTracker;

use super::lines::{BoundedLines, Line};
use super::process::{ChildProcess, Launch, StderrLog};
use super::{ANSWER_LINE_MAX, ChildProfile, InstanceError, STDERR_TAIL_IN_ERRORS};
use crate::config::ClaudeStreamConfig;
use crate::policy::tool_use::{ToolUse, ToolUseTracker};

/// What a finished turn reports.
#[derive(Debug, Clone)]
pub struct TurnResult {
    pub text: String,
    pub session_id: Option<String>,
    pub usage: Option<Value>,
    pub cost_usd: Option<f64>,
    pub api_duration_ms: Option<i64>,
    pub num_turns: Option<i64>,
    /// What the agent tried during the turn.
    pub tool_uses: Vec<ToolUse>,
}

/// What a turn reports while it runs.
pub enum TurnEvent<'a> {
    /// Text the agent wrote.
    Assistant(&'a str),
    /// A tool use that got its result (allowed, refused or failed).
    Tool(&'a ToolUse),
}

pub struct StreamChild {
    pub process: ChildProcess,
    stdin: ChildStdin,
    stdout: BoundedLines<ChildStdout>,
    log: Arc<StderrLog>,
    /// What this process was started with beyond the config.
    pub profile: ChildProfile,
    /// The session this process holds (from its `init` or `result` lines).
    pub session_id: Option<String>,
    /// Turns answered by this process.
    pub turns: u64,
    /// Its agent tools (ask-back), when its profile gives them.
    tools: Option<super::stream_tools::StreamTools>,
}

/// The command line for a stream instance, resuming `resume` if given.
pub fn launch_for(
    config: &ClaudeStreamConfig,
    workdir: &std::path::Path,
    resume: Option<&str>,
    profile: &ChildProfile,
) -> Launch {
    let mut args = config.args.clone();
    args.extend(
        [
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--verbose",
        ]
        .map(String::from),
    );
    if let Some(model) = &config.model {
        args.extend(["--model".into(), model.clone()]);
    }
    if let Some(prompt) = &config.append_system_prompt {
        args.extend(["--append-system-prompt".into(), prompt.clone()]);
    }
    // The module's permission policy (crate::policy): what the agent may do.
    args.extend(profile.stream_args.iter().cloned());
    if let Some(session) = resume {
        args.extend(["--resume".into(), session.to_string()]);
    }
    let mut env: Vec<(String, String)> = config.env.clone().into_iter().collect();
    env.extend(profile.env.iter().cloned());
    Launch {
        command: config.command.clone(),
        args,
        env,
        cwd: Some(workdir.to_path_buf()),
    }
}

impl StreamChild {
    pub fn start(
        launch: &Launch,
        log: Arc<StderrLog>,
        resume: Option<&str>,
        profile: ChildProfile,
        tasks: &TaskTracker,
    ) -> Result<StreamChild, InstanceError> {
        let tools = profile
            .agent_tools
            .as_ref()
            .map(super::stream_tools::StreamTools::create)
            .transpose()
            .map_err(|e| {
                InstanceError::StartFailed(format!("cannot write the agent tools' config: {e}"))
            })?;
        let mut launch = launch.clone();
        if let Some(tools) = &tools {
            launch.args.extend(tools.args());
        }
        let mut process = ChildProcess::spawn(&launch, log.clone(), tasks)
            .map_err(|e| InstanceError::StartFailed(e.to_string()))?;
        let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take()) else {
            return Err(InstanceError::StartFailed(
                "the child's stdin or stdout is not a pipe".into(),
            ));
        };
        Ok(StreamChild {
            process,
            stdin,
            stdout: BoundedLines::new(stdout, ANSWER_LINE_MAX),
            log,
            profile,
            session_id: resume.map(str::to_string),
            turns: 0,
            tools,
        })
    }

    /// Points the agent tools at the question of the next turn, or at
    /// nothing (see `stream_tools.rs`).
    pub fn follow_question(&self, scope: Option<&std::path::Path>) {
        if let Some(tools) = &self.tools {
            tools.follow(scope);
        }
    }

    /// Sends one user message and reads until the turn's `result`.
    /// `on_event` sees the agent's text and tool uses as they happen.
    pub async fn turn(
        &mut self,
        prompt: &str,
        mut on_event: impl FnMut(TurnEvent<'_>),
    ) -> Result<TurnResult, InstanceError> {
        let mut tools = ToolUseTracker::default();
        let line = json!({"type": "user", "message": {"role": "user", "content": prompt}});
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        if let Err(e) = self.stdin.write_all(&bytes).await {
            return Err(self.died(format!("cannot write to claude: {e}")).await);
        }
        let _ = self.stdin.flush().await;
        loop {
            let line = match self.stdout.next_line().await {
                Ok(Some(Line::Whole(line))) => line,
                Ok(Some(Line::Oversized { len, .. })) => {
                    return Err(InstanceError::ChildError(format!(
                        "claude wrote a line of {len} bytes, over the limit of {ANSWER_LINE_MAX} bytes; the turn is abandoned"
                    )));
                }
                Ok(None) => return Err(self.died("claude closed its output".into()).await),
                Err(e) => return Err(self.died(format!("cannot read from claude: {e}")).await),
            };
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                // Not a protocol line; keep it where an operator can see it.
                self.log.push(format!("(stdout) {line}"));
                continue;
            };
            if let Some(session) = event.get("session_id").and_then(Value::as_str) {
                self.session_id = Some(session.to_string());
            }
            for used in tools.observe(&event) {
                on_event(TurnEvent::Tool(&used));
            }
            match event.get("type").and_then(Value::as_str) {
                Some("assistant") => {
                    let text = assistant_text(&event);
                    if !text.is_empty() {
                        on_event(TurnEvent::Assistant(&text));
                    }
                }
                Some("result") => {
                    self.turns += 1;
                    let text = event
                        .get("result")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    if event.get("is_error").and_then(Value::as_bool) == Some(true) {
                        return Err(InstanceError::ChildError(if text.is_empty() {
                            format!(
                                "claude reported an error: {}",
                                event
                                    .get("subtype")
                                    .and_then(Value::as_str)
                                    .unwrap_or("unknown")
                            )
                        } else {
                            text
                        }));
                    }
                    return Ok(TurnResult {
                        text,
                        session_id: self.session_id.clone(),
                        usage: event.get("usage").cloned(),
                        cost_usd: event.get("total_cost_usd").and_then(Value::as_f64),
                        tool_uses: std::mem::take(&mut tools).finish(),
                        api_duration_ms: event.get("duration_api_ms").and_then(Value::as_i64),
                        num_turns: event.get("num_turns").and_then(Value::as_i64),
                    });
                }
                _ => {}
            }
        }
    }

    async fn died(&self, why: String) -> InstanceError {
        // Its exit and its last stderr lines are what the caller needs.
        self.process
            .settle(std::time::Duration::from_millis(1000))
            .await;
        let exit = self.process.has_exited();
        InstanceError::ChildDied {
            pid: self.process.pid,
            exit: exit.map(|e| e.to_string()).unwrap_or(why),
            stderr_tail: self.log.tail(STDERR_TAIL_IN_ERRORS),
        }
    }

    pub async fn stop(self) {
        let StreamChild { process, stdin, .. } = self;
        drop(stdin);
        process.stop().await;
    }
}

fn assistant_text(event: &Value) -> String {
    event
        .pointer("/message/content")
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("")
        })
        .unwrap_or_default()
}
