//! The operator CLI: `claude-comms <command>`. Every command calls the same
//! [`crate::hub::Hub`] API as the MCP server; this layer only parses
//! arguments and prints tables (or JSON with `--json`).

mod config_cmd;
mod conversations;
mod daemon;
pub use daemon::DaemonCommand;
mod instances;
mod jobs;
mod modules;
mod output;
mod stats;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{LoadedConfig, Overrides};
use crate::hub::Hub;

#[derive(Debug, Parser)]
#[command(
    name = "claude-comms",
    version,
    about = "Lets the modules of a software system talk to each other through Claude agents (an MCP server and its operator CLI)"
)]
pub struct Cli {
    /// Config file (default: the platform config folder, or $CLAUDE_COMMS_HOME/config.toml).
    #[arg(long, global = true, env = "CLAUDE_COMMS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Extra descriptor folder, read after the shipped and the user's ones (repeatable).
    #[arg(long = "descriptors", global = true, value_name = "DIR")]
    pub descriptors: Vec<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdin/stdout (what hosts such as Claude Code start).
    Serve {
        /// The module this host works in: the default `source` of messages.
        #[arg(long, env = "CLAUDE_COMMS_MODULE")]
        module: Option<String>,
    },
    /// Inspect and manage module descriptors.
    #[command(subcommand)]
    Modules(modules::ModulesCommand),
    /// Register a module descriptor file (same as `modules register`).
    #[command(name = "register-module")]
    RegisterModule { file: PathBuf },
    /// Show the effective configuration.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Ask a module something and print the answer (`send --from A --to B MESSAGE`).
    Send(conversations::SendArgs),
    /// List, show, search, export and archive stored conversations.
    #[command(subcommand)]
    Conversations(conversations::ConversationsCommand),
    /// Print messages to or from a module as they land, from any server process.
    Listen { module: String },
    /// Background instances of every server sharing the database.
    #[command(subcommand)]
    Instances(instances::InstancesCommand),
    /// Questions sent with `send --background`: list, show, wait for, cancel.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// The hub daemon that owns every child for this data dir: run, start, stop, status.
    #[command(subcommand)]
    Daemon(daemon::DaemonCommand),
    /// Per module pair: queries, p50/p95 latency, tokens in/out, cost and
    /// failures by cause (`stats --module M --since 7d`).
    Stats(stats::StatsArgs),
    /// Check node/npx, the child package, the `claude` CLI, the data dir and
    /// the database, and say how to fix each problem.
    Doctor {
        /// Skip starting a claude-code-mcp child (which may download it first).
        #[arg(long)]
        no_start: bool,
    },

    // The seed's flat command names, kept so existing scripts keep working.
    /// Same as `send`.
    #[command(name = "query-module", hide = true)]
    QueryModule(conversations::SendArgs),
    /// Same as `conversations list`.
    #[command(name = "list-conversations", hide = true)]
    ListConversations {
        #[arg(long)]
        module: Option<String>,
    },
    /// Same as `send --conversation ID MESSAGE`.
    #[command(name = "continue-conversation", hide = true)]
    ContinueConversation {
        id: String,
        #[arg(required = true)]
        message: Vec<String>,
    },
    /// Same as `conversations export`.
    #[command(name = "export-conversation", hide = true)]
    ExportConversation {
        id: String,
        #[arg(long, default_value = "markdown")]
        format: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Same as `listen`.
    #[command(name = "listen-module", hide = true)]
    ListenModule { module: String },
    /// Same as `instances start`.
    #[command(name = "start-instance", hide = true)]
    StartInstance(instances::StartArgs),
    /// Same as `instances list`.
    #[command(name = "list-instances", hide = true)]
    ListInstances,
    /// Same as `instances stop`.
    #[command(name = "stop-instance", hide = true)]
    StopInstance { id: String },
    /// Same as `instances monitor`.
    #[command(name = "monitor-instance", hide = true)]
    MonitorInstance { id: String },
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            descriptor_dirs: self.descriptors.clone(),
        }
    }
}

/// Runs a command other than `serve`. Returns the process exit code.
pub async fn run(cli: Cli, config: LoadedConfig) -> anyhow::Result<i32> {
    use conversations::{ConversationsCommand, SendArgs};
    use instances::InstancesCommand;

    let out = output::Output::new(cli.json);
    let command = match cli.command {
        Command::Serve { .. } => unreachable!("serve is started by main"),
        Command::Modules(cmd) => return modules::run(cmd, config, &out),
        Command::RegisterModule { file } => {
            return modules::run(modules::ModulesCommand::Register { file }, config, &out);
        }
        Command::Config(cmd) => return config_cmd::run(cmd, &config, &out),
        Command::Daemon(cmd) => return daemon::run(cmd, config, &out).await,
        // Seed names, mapped onto the commands they stand for.
        Command::QueryModule(args) => Command::Send(args),
        Command::ListConversations { module } => {
            Command::Conversations(ConversationsCommand::List {
                module,
                status: None,
                limit: 50,
                cursor: None,
            })
        }
        Command::ContinueConversation { id, message } => Command::Send(SendArgs {
            from: None,
            to: None,
            conversation: Some(id),
            timeout: None,
            idempotency_key: None,
            background: false,
            message,
        }),
        Command::ExportConversation { id, format, output } => {
            Command::Conversations(ConversationsCommand::Export { id, format, output })
        }
        Command::ListenModule { module } => Command::Listen { module },
        Command::StartInstance(args) => Command::Instances(InstancesCommand::Start(args)),
        Command::ListInstances => Command::Instances(InstancesCommand::List),
        Command::StopInstance { id } => Command::Instances(InstancesCommand::Stop { id }),
        Command::MonitorInstance { id } => {
            Command::Instances(InstancesCommand::Monitor { id, lines: 20 })
        }
        other => other,
    };
    let hub = Hub::open_routed(config.clone(), None)?;
    let code = match command {
        Command::Send(args) => conversations::send(&hub, &config, args, &out).await?,
        Command::Jobs(cmd) => jobs::run(&hub, cmd, &out).await?,
        Command::Conversations(cmd) => conversations::run(&hub, cmd, &out).await?,
        Command::Listen { module } => conversations::listen(&hub, &module, &out).await?,
        Command::Instances(cmd) => instances::run(&hub, cmd, &out).await?,
        Command::Doctor { no_start } => doctor(&hub, !no_start, &out).await?,
        Command::Stats(args) => stats::run(&hub, args, &out).await?,
        _ => unreachable!("every other command was handled above"),
    };
    Ok(code)
}

async fn doctor(hub: &Hub, start_child: bool, out: &output::Output) -> anyhow::Result<i32> {
    use crate::hub::CheckStatus;
    let checks = hub.doctor(start_child).await;
    hub.shutdown().await;
    if out.json {
        out.json(&checks)?;
    } else {
        for c in &checks {
            let mark = match c.status {
                CheckStatus::Ok => "ok  ",
                CheckStatus::Warning => "warn",
                CheckStatus::Failed => "FAIL",
            };
            out.line(format!("[{mark}] {}: {}", c.name, c.detail))?;
            if !c.fix.is_empty() {
                out.line(format!("       fix: {}", c.fix))?;
            }
        }
    }
    Ok(i32::from(
        checks.iter().any(|c| c.status == CheckStatus::Failed),
    ))
}
