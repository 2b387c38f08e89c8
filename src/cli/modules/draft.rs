//! `claude-comms modules init --draft`: after the descriptor is drafted from
//! the files, the module's own agent (read-only, in its folder) proposes its
//! capabilities, data types and relationships; the proposal is shown, and
//! written only when the user accepts it (`--yes`, or `y` on a terminal).

use crate::cli::confirm::{self, Answer};
use crate::cli::output::Output;
use crate::config::permissions::Mode;
use crate::descriptor::ModuleDescriptor;
use crate::descriptor::init::proposal::{apply, parse_proposal, proposal_prompt};
use crate::descriptor::{Format, RegisterFrom, parse_descriptor};
use crate::hub::{Hub, HubError, SendRequest};

/// What the user asked of the draft.
pub struct DraftOptions<'a> {
    pub yes: bool,
    pub hint: Option<&'a str>,
}

/// Asks the agent, shows its proposal, and writes it when accepted.
/// Returns the exit code: 0 written or declined, 1 on an error (the
/// descriptor drafted from the files stays registered either way).
pub async fn propose(
    hub: &std::sync::Arc<Hub>,
    drafted: &ModuleDescriptor,
    from: RegisterFrom,
    options: DraftOptions<'_>,
    out: &Output,
) -> anyhow::Result<i32> {
    let name = &drafted.name;
    let mode = hub.modules().policy(name).mode;
    if mode != Mode::ReadOnly {
        out.note(format!(
            "error: --draft asks {name}'s own agent, which must run read-only; its [permissions] mode is \"{}\": run it without --draft, or set the module read-only first",
            mode.as_str()
        ))?;
        return Ok(1);
    }
    out.note(format!(
        "asking {name}'s agent (read-only) to propose its capabilities ..."
    ))?;
    let answer = match ask_agent(hub, drafted, options.hint).await {
        Ok(answer) => answer,
        Err(e) => return out.error_exit(format!("{name}'s agent could not answer: {e}")),
    };
    let proposal = match parse_proposal(&answer) {
        Ok(proposal) => proposal,
        Err(e) => {
            out.note(format!(
                "error: {e}; the descriptor stays as drafted from the files"
            ))?;
            return Ok(1);
        }
    };
    let proposed = apply(drafted, &proposal);
    let yaml = serde_saphyr::to_string(&proposed)?;
    let shown = format!("{name}.yaml (as {name}'s agent proposes it)");
    if let Err(e) = parse_descriptor(&shown, &yaml, Format::Yaml) {
        out.note(format!(
            "error: {e}; the descriptor stays as drafted from the files"
        ))?;
        return Ok(1);
    }
    out.line(format!("# proposed by {name}'s agent"))?;
    out.line(yaml.trim_end())?;
    if !accepted(options.yes, out)? {
        return Ok(0);
    }
    match hub
        .modules()
        .register(serde_json::to_value(&proposed)?, from)
        .await
    {
        Ok(outcome) => {
            out.note(format!("accepted: written to {}", outcome.file))?;
            Ok(0)
        }
        Err(e) => out.error_exit(format!("{shown}: {e}")),
    }
}

/// The module's own agent's answer to the proposal prompt.
async fn ask_agent(
    hub: &std::sync::Arc<Hub>,
    drafted: &ModuleDescriptor,
    hint: Option<&str>,
) -> Result<String, HubError> {
    let name = &drafted.name;
    let outcome = hub
        .messaging()
        .send(SendRequest {
            source: Some(name.clone()),
            target: Some(name.clone()),
            message: proposal_prompt(drafted, hint),
            conversation_id: None,
            timeout_s: None,
            idempotency_key: None,
            progress: None,
            cancel: Default::default(),
            reuse: Default::default(),
        })
        .await?;
    Ok(outcome.reply.unwrap_or_default())
}

/// `--yes`, or `y` on a terminal. Without a terminal and without `--yes`
/// nothing is written, and the user is told how to accept.
fn accepted(yes: bool, out: &Output) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    match confirm::ask("write this descriptor?")? {
        Answer::Yes => Ok(true),
        Answer::No => {
            out.note("not written: the descriptor stays as drafted from the files")?;
            Ok(false)
        }
        Answer::NoTerminal => {
            out.note("not written: without a terminal, add --yes to accept the proposal")?;
            Ok(false)
        }
    }
}
