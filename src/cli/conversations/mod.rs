//! `claude-comms conversations list | show | search | export | archive | import | delete | prune`
//! and `listen MODULE`: one file per subcommand (`delete` and `prune`, which
//! share their asking first, in `cleanup.rs`); `run` only dispatches.

mod archive;
mod cleanup;
mod export;
mod import;
mod list;
mod listen;
mod print;
mod search;
mod show;

pub use listen::run as listen;

use std::path::PathBuf;

use clap::Subcommand;

use super::output::Output;
use crate::hub::{ConversationFilter, Hub};

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
    match cmd {
        ConversationsCommand::List {
            module,
            status,
            limit,
            cursor,
        } => {
            let filter = ConversationFilter {
                module,
                status,
                limit,
                cursor,
            };
            list::run(hub, filter, out).await
        }
        ConversationsCommand::Show { id, limit, tools } => {
            show::run(hub, &id, limit, tools, out).await
        }
        ConversationsCommand::Search {
            query,
            module,
            limit,
        } => search::run(hub, &query, module, limit, out).await,
        ConversationsCommand::Export {
            id,
            format,
            output,
            save,
        } => export::run(hub, &id, &format, output, save, out).await,
        ConversationsCommand::Import { file } => import::run(hub, &file, out).await,
        ConversationsCommand::Delete { id, yes } => cleanup::delete(hub, &id, yes, out).await,
        ConversationsCommand::Prune {
            archived,
            older_than,
            dry_run,
            yes,
        } => cleanup::prune(hub, archived, &older_than, dry_run, yes, out).await,
        ConversationsCommand::Archive { id } => archive::run(hub, &id, out).await,
    }
}
