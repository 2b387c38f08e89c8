//! Questions back from an answering agent (issue 29), on the command line:
//! `send` on a terminal prints the agent's question and reads the answer
//! from it; in a pipe (or for `--json`) it prints the question and exits
//! with [`INPUT_REQUIRED_EXIT`], and `jobs answer ID TEXT` answers later.

use std::io::IsTerminal;
use std::time::Duration;

use super::output::Output;
use crate::hub::ask_back::InputRequest;
use crate::hub::{Hub, HubError, SendOutcome};

/// The exit code of a command that ends while an agent waits for an answer.
pub const INPUT_REQUIRED_EXIT: i32 = 4;

/// Whether `send` may ask the person at this terminal.
pub fn interactive(out: &Output) -> bool {
    !out.json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks the person at the terminal each question `outcome` carries and
/// answers it, until the agent asks no more; the last outcome. An empty
/// line (or end of input) leaves the question unanswered for now.
pub async fn ask_at_terminal(
    hub: &Hub,
    mut outcome: SendOutcome,
    wait: Duration,
    out: &Output,
) -> Result<SendOutcome, HubError> {
    let io = |e: anyhow::Error| HubError::Internal(format!("the terminal: {e:#}"));
    while let Some(request) = outcome.input_request.clone() {
        out.note(format!(
            "{} asks back (within {} s; an empty line leaves it unanswered):\n{}",
            outcome.target, request.timeout_s, request.question
        ))
        .map_err(io)?;
        let answer = read_line().await.map_err(io)?;
        if answer.trim().is_empty() {
            return Ok(outcome);
        }
        outcome = hub
            .messaging()
            .answer_question(&request.query_id, &answer, wait)
            .await?;
    }
    Ok(outcome)
}

/// Prints a question that waits for an answer, and how to give it.
pub fn print_question(
    outcome: &SendOutcome,
    request: &InputRequest,
    out: &Output,
) -> anyhow::Result<()> {
    if out.json {
        return out.json(outcome);
    }
    out.line(request.question.trim_end())?;
    out.note(format!(
        "({} asks back while answering question {}; answer within {} s with `claude-comms jobs answer {} TEXT`)",
        outcome.target, request.query_id, request.timeout_s, request.query_id
    ))
}

async fn read_line() -> anyhow::Result<String> {
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await??;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
