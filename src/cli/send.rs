//! `claude-comms send` (and the seed's `query-module`, `continue-conversation`):
//! ask a module and print the answer, or, with `--background`, the job id.

use super::output::Output;
use crate::hub::{Hub, HubError, SendRequest};

/// Arguments of `send` (and its seed names).
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The asking module.
    #[arg(long = "from", env = "CLAUDE_COMMS_MODULE")]
    pub from: Option<String>,
    /// The module to ask (not needed with --conversation).
    #[arg(long = "to")]
    pub to: Option<String>,
    /// Continue this conversation.
    #[arg(long)]
    pub conversation: Option<String>,
    /// Seconds to wait for the answer, from dispatch.
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Resending with the same key returns the first answer.
    #[arg(long = "idempotency-key")]
    pub idempotency_key: Option<String>,
    /// Print the job id at once and return; the daemon carries the question
    /// to its end (`claude-comms jobs wait ID` collects the answer).
    #[arg(long)]
    pub background: bool,
    /// `unchanged`: give the earlier answer to the same question again when
    /// the module's folder is at the same commit and clean (no agent runs).
    #[arg(long, value_name = "WHEN", default_value = "never")]
    pub reuse: crate::hub::Reuse,
    /// The message.
    #[arg(required = true)]
    pub message: Vec<String>,
}

/// The seed's `query-module TARGET MESSAGE [--background]`.
#[derive(Debug, clap::Args)]
pub struct QueryModuleArgs {
    /// The module to ask.
    pub target: String,
    /// The message.
    #[arg(required = true)]
    pub message: Vec<String>,
    /// The asking module (default: CLAUDE_COMMS_MODULE, or the module of the current folder).
    #[arg(long = "from", env = "CLAUDE_COMMS_MODULE")]
    pub from: Option<String>,
    /// Print the job id at once; the daemon carries the question to its end.
    #[arg(long)]
    pub background: bool,
    /// Seconds to wait for the answer.
    #[arg(long)]
    pub timeout: Option<u64>,
}

impl QueryModuleArgs {
    pub fn into_send(self) -> SendArgs {
        SendArgs {
            from: self.from,
            to: Some(self.target),
            conversation: None,
            timeout: self.timeout,
            idempotency_key: None,
            background: self.background,
            reuse: crate::hub::Reuse::Never,
            message: self.message,
        }
    }
}

/// Sends through the daemon when the `hub` policy uses one (so the warm
/// instances are shared and a `--background` job outlives this command),
/// else in this process.
pub async fn send(
    hub: &std::sync::Arc<Hub>,
    config: &crate::config::LoadedConfig,
    mut args: SendArgs,
    out: &Output,
) -> anyhow::Result<i32> {
    if args.conversation.is_none() {
        match asking_module(hub, args.from.take()) {
            Ok(from) => args.from = Some(from),
            Err(e) => {
                out.note(format!("error: {e}"))?;
                return Ok(2);
            }
        }
    }
    if args.background {
        if !hub.is_routed() {
            out.note(
                "error: --background needs the hub daemon, which carries the question after this command exits; set hub = \"auto\" (the default) or run `claude-comms daemon start`",
            )?;
            return Ok(2);
        }
        let request = request_of(args, cancel_on_ctrl_c());
        let sent = hub.jobs().send(request).await;
        hub.shutdown().await;
        return match sent {
            Ok(outcome) => print_outcome(&outcome, out).map(|()| 0),
            Err(e) => out.hub_error_exit(&e),
        };
    }
    let _ = config;
    send_here(hub, args, out).await
}

/// The asking module of a CLI query: `--from`, else `CLAUDE_COMMS_MODULE`
/// (clap reads both into `from`), else the module whose folder holds the
/// current directory.
fn asking_module(hub: &Hub, from: Option<String>) -> Result<String, String> {
    if let Some(from) = from {
        return Ok(from);
    }
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    hub.modules().for_folder(&cwd).ok_or_else(|| {
        format!(
            "which module is asking? Give --from MODULE, or set CLAUDE_COMMS_MODULE, or run this inside a registered module's folder ({} is in none)",
            cwd.display()
        )
    })
}

fn print_outcome(outcome: &crate::hub::SendOutcome, out: &Output) -> anyhow::Result<()> {
    if out.json {
        return out.json(outcome);
    }
    match &outcome.reply {
        Some(reply) if outcome.reused => {
            out.line(reply.trim_end())?;
            out.note(format!(
                "({}'s earlier answer {}, reused: its folder is at the same commit and clean; conversation {})",
                outcome.target,
                outcome.reused_from.as_deref().unwrap_or("?"),
                outcome.conversation_id,
            ))
        }
        Some(reply) => {
            out.line(reply.trim_end())?;
            out.note(format!(
                "({} answered {} in {} ms; conversation {}{}{})",
                outcome.target,
                outcome.source,
                outcome.duration_ms,
                outcome.conversation_id,
                outcome
                    .instance_id
                    .as_deref()
                    .map(|i| format!("; instance {i}"))
                    .unwrap_or_default(),
                outcome
                    .node
                    .as_deref()
                    .map(|n| format!("; on node {n}"))
                    .unwrap_or_default()
            ))?;
            if let Some(retried) = &outcome.retried {
                out.note(format!("({retried})"))?;
            }
            if let Some(note) = &outcome.note {
                out.note(format!("({note})"))?;
            }
            if let Some(refused) = &outcome.refused {
                out.note(format!(
                    "({refused}; {}'s permissions are \"{}\": see [permissions] in the config)",
                    outcome.target,
                    outcome.policy.as_str()
                ))?;
            }
            Ok(())
        }
        None => {
            out.line(&outcome.message_id)?;
            out.note(format!(
                "(job {} sent to {}; `claude-comms jobs wait {}` collects the answer)",
                outcome.message_id, outcome.target, outcome.message_id
            ))
        }
    }
}

/// The hub's request for what the command line asked.
fn request_of(args: SendArgs, cancel: tokio_util::sync::CancellationToken) -> SendRequest {
    SendRequest {
        source: args.from,
        target: args.to,
        message: args.message.join(" "),
        conversation_id: args.conversation,
        timeout_s: args.timeout,
        idempotency_key: args.idempotency_key,
        progress: None,
        cancel,
        reuse: args.reuse,
    }
}

/// Sends and waits (through the daemon when the hub uses one).
async fn send_here(hub: &std::sync::Arc<Hub>, args: SendArgs, out: &Output) -> anyhow::Result<i32> {
    let cancel = cancel_on_ctrl_c();
    let wait = hub.messaging().answer_timeout(args.timeout);
    let request = request_of(args, cancel.clone());
    let result = match hub.messaging().send(request).await {
        Ok(outcome) if outcome.input_request.is_some() && super::answer::interactive(out) => {
            super::answer::ask_at_terminal(hub, outcome, wait, out).await
        }
        other => other,
    };
    hub.shutdown().await;
    match result {
        Ok(outcome) => {
            if let Some(request) = &outcome.input_request {
                super::answer::print_question(&outcome, request, out)?;
                if !hub.is_routed() {
                    out.note("(this command carried the question itself, so it ends unanswered now; with the hub daemon, hub = \"auto\", it would wait for `jobs answer`)")?;
                }
                return Ok(super::answer::INPUT_REQUIRED_EXIT);
            }
            print_outcome(&outcome, out)?;
            Ok(0)
        }
        Err(HubError::QueryFailed {
            conversation_id,
            reason,
            ..
        }) => {
            if cancel.is_cancelled() {
                // The user pressed Ctrl-C: nothing to fix, nothing to advise.
                out.note(format!(
                    "interrupted: the message is stored as cancelled in conversation {conversation_id}"
                ))?;
                return Ok(130);
            }
            out.note(format!("error: {reason}"))?;
            out.note(super::error_words::query_failed_advice(&conversation_id))?;
            Ok(1)
        }
        Err(_) if cancel.is_cancelled() => {
            // Through the daemon a cancelled call ends without its record.
            out.note("interrupted: the message is stored as cancelled")?;
            Ok(130)
        }
        Err(e) => out.hub_error_exit(&e),
    }
}

/// A token that fires on Ctrl-C, so an interrupted `send` cancels the work
/// at the child and records the message as cancelled.
fn cancel_on_ctrl_c() -> tokio_util::sync::CancellationToken {
    let token = tokio_util::sync::CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            fire.cancel();
        }
    });
    token
}
