//! `claude-comms send`, `conversations list | show | search | export | archive | import`
//! (`delete` and `prune` are in [`super::cleanup`])
//! and `listen MODULE`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

use super::output::Output;
use crate::hub::Hub;
use crate::hub::{ConversationFilter, ExportFormat, Message};

#[derive(Debug, Subcommand)]
pub enum ConversationsCommand {
    /// List conversations, most recently active first.
    List {
        /// Only conversations this module takes part in.
        #[arg(long)]
        module: Option<String>,
        /// `active` or `archived`.
        #[arg(long)]
        status: Option<crate::hub::ConversationStatus>,
        /// At most this many per page.
        #[arg(long, default_value_t = crate::hub::DEFAULT_PAGE_SIZE)]
        limit: usize,
        /// Continue after a previous page (its `next_cursor`).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show a conversation's messages.
    Show {
        /// The conversation (`claude-comms conversations list` shows the ids).
        id: String,
        /// Only the latest N messages.
        #[arg(long)]
        limit: Option<usize>,
        /// Also list what each answering agent tried: tool, target, and
        /// whether its module's policy allowed or refused it.
        #[arg(long)]
        tools: bool,
    },
    /// Full-text search over all messages.
    Search {
        /// Plain words to find: a message matches when every word occurs in it.
        /// Quotes, OR, * and other search syntax are searched for as text.
        query: String,
        /// Only conversations this module takes part in.
        #[arg(long)]
        module: Option<String>,
        /// At most this many hits.
        #[arg(long, default_value_t = crate::hub::DEFAULT_HITS)]
        limit: usize,
    },
    /// Export a conversation as json, jsonl or markdown.
    Export {
        /// The conversation (`claude-comms conversations list` shows the ids).
        id: String,
        /// json, jsonl or markdown.
        #[arg(long, default_value = "markdown")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Save to `<id>.<format>` in the current folder and print its path
        /// (what the seed's `export-conversation` does without --output).
        #[arg(long, hide = true)]
        save: bool,
    },
    /// Archive a conversation (readable, takes no new messages).
    Archive {
        /// The conversation (`claude-comms conversations list` shows the ids).
        id: String,
    },
    /// Store a conversation exported as json or jsonl (e.g. from another machine).
    Import {
        /// The exported file.
        file: PathBuf,
    },
    /// Delete a conversation and its messages for good (asks first).
    Delete {
        /// The conversation (`claude-comms conversations list` shows the ids).
        id: String,
        /// Do not ask (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Delete old conversations for good: `prune --archived --older-than 30d` (asks first).
    Prune {
        /// Only archived conversations.
        #[arg(long)]
        archived: bool,
        /// Only conversations with no message for this long: 45s, 90m, 12h, 30d, 2w.
        #[arg(long, value_name = "AGE")]
        older_than: String,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

pub async fn run(hub: &Hub, cmd: ConversationsCommand, out: &Output) -> anyhow::Result<i32> {
    let result = match cmd {
        ConversationsCommand::List {
            module,
            status,
            limit,
            cursor,
        } => hub
            .list_conversations(ConversationFilter {
                module,
                status,
                limit,
                cursor,
            })
            .await
            .map(|page| {
                if out.json {
                    return out.json(&page);
                }
                let now = crate::time::now_ms();
                let rows: Vec<Vec<String>> = page
                    .conversations
                    .iter()
                    .map(|c| {
                        vec![
                            c.id.clone(),
                            c.source.clone(),
                            c.target.clone(),
                            c.status.as_str().to_string(),
                            c.message_count.to_string(),
                            super::when::ago(c.updated_at, now),
                            c.title.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                out.table(
                    &["ID", "FROM", "TO", "STATUS", "MESSAGES", "UPDATED", "TITLE"],
                    &rows,
                )?;
                if let Some(next) = &page.next_cursor {
                    out.note(format!("more: --cursor {next}"))?;
                }
                Ok(())
            }),
        ConversationsCommand::Show { id, limit, tools } => {
            hub.get_conversation(&id, limit, None).await.map(|t| {
                if out.json {
                    return out.json(&t);
                }
                let c = &t.conversation;
                out.line(format!(
                    "conversation {} ({} asks {}, {})",
                    c.id,
                    c.source,
                    c.target,
                    c.status.as_str()
                ))?;
                for m in &t.messages {
                    print_message(out, m)?;
                    print_tool_uses(out, m, tools)?;
                }
                Ok(())
            })
        }
        ConversationsCommand::Search {
            query,
            module,
            limit,
        } => hub
            .search_conversations(&query, module, limit)
            .await
            .map(|results| {
                if out.json {
                    return out.json(&results);
                }
                let rows: Vec<Vec<String>> = results
                    .hits
                    .iter()
                    .map(|h| {
                        vec![
                            h.conversation_id.clone(),
                            h.seq.to_string(),
                            h.sender.clone(),
                            h.role.as_str().to_string(),
                            h.snippet.replace('\n', " "),
                        ]
                    })
                    .collect();
                out.table(&["CONVERSATION", "SEQ", "SENDER", "ROLE", "SNIPPET"], &rows)
            }),
        ConversationsCommand::Export {
            id,
            format: format_name,
            output,
            save,
        } => {
            let format: ExportFormat = match format_name.parse() {
                Ok(f) => f,
                Err(e) => {
                    out.note(format!("error: --format: {e}"))?;
                    return Ok(2);
                }
            };
            let id = match hub.conversation_id_of(&id).await {
                Ok(id) => id,
                Err(e) => {
                    out.note(format!("error: {e}"))?;
                    return Ok(1);
                }
            };
            let output = match (output, save) {
                (None, true) => Some(PathBuf::from(format!(
                    "{id}.{}",
                    super::extension_of(&format_name)
                ))),
                (output, _) => output,
            };
            hub.export_conversation(&id, format)
                .await
                .map(|text| match output {
                    Some(path) => {
                        std::fs::write(&path, &text)
                            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                        if save {
                            out.line(path.display().to_string())
                        } else {
                            out.note(format!("exported {id} to {}", path.display()))
                        }
                    }
                    None => out.line(text.trim_end()),
                })
        }
        ConversationsCommand::Import { file } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    out.note(format!("error: cannot read {}: {e}", file.display()))?;
                    return Ok(1);
                }
            };
            hub.import_conversation(text).await.map(|c| {
                if out.json {
                    out.json(&c)
                } else {
                    out.line(format!(
                        "imported {} ({} asks {}, {} messages)",
                        c.id, c.source, c.target, c.message_count
                    ))
                }
            })
        }
        ConversationsCommand::Delete { id, yes } => {
            return super::cleanup::delete(hub, &id, yes, out).await;
        }
        ConversationsCommand::Prune {
            archived,
            older_than,
            dry_run,
            yes,
        } => {
            return super::cleanup::prune(hub, archived, &older_than, dry_run, yes, out).await;
        }
        ConversationsCommand::Archive { id } => hub.archive_conversation(&id).await.map(|c| {
            if out.json {
                out.json(&c)
            } else {
                out.line(format!("archived {}", c.id))
            }
        }),
    };
    match result {
        Ok(printed) => printed.map(|()| 0),
        Err(e) => {
            out.error(&e)?;
            Ok(1)
        }
    }
}

/// `listen MODULE`: prints messages to or from a module as they land, from
/// any process sharing the database, until interrupted.
pub async fn listen(hub: &Hub, module: &str, out: &Output) -> anyhow::Result<i32> {
    if let Err(e) = hub.descriptor(module) {
        out.error(&e)?;
        return Ok(1);
    }
    let mut cursor = hub.message_cursor().await?;
    out.note(format!(
        "listening for messages to or from {module} (Ctrl-C stops)"
    ))?;
    loop {
        let (next, messages) = tokio::select! {
            found = hub.follow_messages(cursor, Some(module.to_string()), Duration::from_secs(30)) => found?,
            _ = tokio::signal::ctrl_c() => return Ok(0),
        };
        cursor = next;
        for m in &messages {
            if out.json {
                // One object per line, so scripts can read it as a stream.
                out.line(serde_json::to_string(m)?)?;
            } else {
                out.line(format!("[{}]", m.conversation_id))?;
                print_message(out, m)?;
                if m.role == crate::hub::Role::AskBack
                    && let Ok(asked) = hub.question_back(&m.id).await
                    && asked.state == crate::hub::AskBackState::Waiting
                {
                    out.line(format!(
                        "(waits for an answer: claude-comms jobs answer {} TEXT)",
                        asked.query_id
                    ))?;
                }
            }
        }
    }
}

/// A reply's tool uses, one a line (`--tools`), or how many there were.
fn print_tool_uses(out: &Output, m: &Message, all: bool) -> anyhow::Result<()> {
    if m.tool_uses.is_empty() {
        return Ok(());
    }
    if all {
        out.line("tool uses:")?;
        for used in &m.tool_uses {
            out.line(format!("  {}", crate::hub::tool_use_line(used)))?;
        }
        return Ok(());
    }
    let refused = m
        .tool_uses
        .iter()
        .filter(|u| u.outcome == crate::policy::ToolOutcome::Refused)
        .count();
    out.line(format!(
        "({} tool use(s), {refused} refused by the module's policy; --tools lists them)",
        m.tool_uses.len()
    ))
}

fn print_message(out: &Output, m: &Message) -> anyhow::Result<()> {
    let took = m
        .duration_ms
        .map(|d| format!(", {}", super::when::duration_ms(d)))
        .unwrap_or_default();
    out.line(format!(
        "\n#{} {} at {} ({}, {}{took}):",
        m.seq,
        m.sender,
        super::when::clock(m.created_at),
        m.role.as_str(),
        m.status.as_str()
    ))?;
    out.line(m.content.trim_end())
}
