//! `claude-comms jobs list | show ID | wait ID | cancel ID`: questions sent
//! with `send --background` (or `send_message {wait: false}`), followed to
//! their end. Reads come from the shared database; `cancel` goes to the
//! process that carries the job (the daemon).

use std::time::Duration;

use clap::Subcommand;

use super::output::Output;
use crate::hub::{Hub, JobStatus, MessageStatus};

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The newest jobs, newest first.
    List {
        /// Only jobs in this state: pending, delivered, failed, cancelled, interrupted.
        #[arg(long)]
        status: Option<MessageStatus>,
        /// Most jobs to show.
        #[arg(long, default_value_t = crate::hub::DEFAULT_HITS)]
        limit: usize,
    },
    /// One job: its state, and its answer once delivered.
    Show {
        /// The job's id (or its first 8+ characters).
        id: String,
    },
    /// Wait for a job's answer and print it.
    Wait {
        /// The job's id (or its first 8+ characters).
        id: String,
        /// Seconds to wait at most.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Answer the question a job's agent asked back (its state is
    /// input_required), then wait for what comes next and print it.
    Answer {
        /// The job's id (or its first 8+ characters).
        id: String,
        /// The answer.
        #[arg(required = true)]
        text: Vec<String>,
        /// Seconds to wait at most for the answer (or the next question).
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Cancel a pending job (the work at the agent is cancelled).
    Cancel {
        /// The job's id (or its first 8+ characters).
        id: String,
    },
}

pub async fn run(hub: &Hub, cmd: JobsCommand, out: &Output) -> anyhow::Result<i32> {
    let job = match cmd {
        JobsCommand::List { status, limit } => return list(hub, status, limit, out).await,
        JobsCommand::Show { id } => hub.jobs().get(&id).await,
        JobsCommand::Answer { id, text, timeout } => {
            return answer(hub, &id, &text.join(" "), timeout, out).await;
        }
        JobsCommand::Wait { id, timeout } => {
            hub.jobs().wait(&id, Duration::from_secs(timeout)).await
        }
        // Goes to the daemon that carries the job, when the hub uses one.
        JobsCommand::Cancel { id } => hub.jobs().cancel(&id).await,
    };
    let job = match job {
        Ok(job) => job,
        Err(e) => return out.error_exit(e),
    };
    print_job(&job, out)?;
    Ok(match job.status.as_str() {
        "delivered" => 0,
        "pending" => 3,
        crate::hub::ask_back::INPUT_REQUIRED => super::answer::INPUT_REQUIRED_EXIT,
        _ => 1,
    })
}

/// `jobs list`: the newest jobs, newest first; in a fleet, with the node
/// that took each.
async fn list(
    hub: &Hub,
    status: Option<MessageStatus>,
    limit: usize,
    out: &Output,
) -> anyhow::Result<i32> {
    let jobs = hub.jobs().list(status, None, limit).await?;
    if out.json {
        out.json(&jobs)?;
        return Ok(0);
    }
    // In a fleet, which node took each question.
    let fleet = hub.node().in_a_fleet();
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            let mut row = vec![
                j.message_id.clone(),
                j.status.clone(),
                j.source.clone(),
                super::when::ago(j.created_at, crate::time::now_ms()),
            ];
            if fleet {
                row.push(j.node.clone().unwrap_or_else(|| "-".into()));
            }
            row.push(first_line(&j.message));
            row
        })
        .collect();
    let header: &[&str] = if fleet {
        &["ID", "STATE", "FROM", "SENT", "NODE", "QUESTION"]
    } else {
        &["ID", "STATE", "FROM", "SENT", "QUESTION"]
    };
    out.table(header, &rows)?;
    Ok(0)
}

/// `jobs answer ID TEXT`: answers, then prints what came next (exit 0 for
/// the answer, 4 for another question, 3 still working).
async fn answer(
    hub: &Hub,
    id: &str,
    text: &str,
    timeout: u64,
    out: &Output,
) -> anyhow::Result<i32> {
    match hub
        .messaging()
        .answer_question(id, text, Duration::from_secs(timeout))
        .await
    {
        Ok(outcome) => {
            if let Some(request) = &outcome.input_request {
                super::answer::print_question(&outcome, request, out)?;
                return Ok(super::answer::INPUT_REQUIRED_EXIT);
            }
            if out.json {
                out.json(&outcome)?;
            } else if let Some(reply) = &outcome.reply {
                out.line(reply.trim_end())?;
            } else {
                out.line(&outcome.message_id)?;
            }
            Ok(if outcome.reply.is_some() { 0 } else { 3 })
        }
        Err(e) => out.hub_error_exit(&e),
    }
}

fn print_job(job: &JobStatus, out: &Output) -> anyhow::Result<()> {
    if out.json {
        return out.json(job);
    }
    match (&job.reply, &job.error) {
        (Some(reply), _) => out.line(reply.trim_end())?,
        (None, Some(error)) => out.line(format!("{}: {error}", job.status))?,
        (None, None) => out.line(job.status.clone())?,
    }
    out.note(format!(
        "(job {} from {}: {}; conversation {})",
        job.message_id, job.source, job.status, job.conversation_id
    ))?;
    print_children(&job.children, 1, out)
}

/// The questions asked while answering, one line each, as a tree.
fn print_children(children: &[JobStatus], depth: usize, out: &Output) -> anyhow::Result<()> {
    for child in children {
        out.note(format!(
            "{}└ {} {} asked: {} ({})",
            "  ".repeat(depth),
            child.message_id,
            child.source,
            first_line(&child.message),
            child.status
        ))?;
        print_children(&child.children, depth + 1, out)?;
    }
    Ok(())
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut short: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        short.push('…');
    }
    short
}
