//! The operator CLI: `claude-comms <command>`. Every command calls the same
//! [`crate::hub::Hub`] API as the MCP server; this layer only parses
//! arguments and prints tables (or JSON with `--json`).

mod answer;
mod config_cmd;
mod confirm;
mod conversations;
mod daemon;
mod doctor;
mod error_words;
mod fleet;
pub use daemon::DaemonCommand;
pub mod dashboard;
mod instances;
mod jobs;
mod modules;
mod output;
mod seed_names;
mod send;
pub use error_words::cli_words;
mod setup;
mod shell;
mod stats;
mod store_cmd;
mod tokens;
pub mod when;

use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{LoadedConfig, Overrides};
use crate::hub::Hub;
use output::Output;

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
    /// Show log lines on stderr: -v info, -vv debug (commands other than
    /// `serve` show only errors otherwise; `log_file` gets the configured level).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The tools of one answering agent (ask_asker), served over
    /// stdin/stdout to the agent's `claude`; started by claude-comms itself.
    #[command(name = "agent-tools", hide = true)]
    AgentTools {
        /// The scope file of the question the agent answers.
        #[arg(long)]
        scope: PathBuf,
    },
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
    RegisterModule {
        /// The descriptor file; or, with --desc, the module's name (the seed's form).
        name_or_file: PathBuf,
        /// The descriptor file, when the first argument is the module's name.
        #[arg(long = "desc", value_name = "FILE")]
        desc: Option<PathBuf>,
        /// The module's folder (where its agent works).
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Show the effective configuration.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Ask a module something and print the answer (`send --from A --to B MESSAGE`).
    Send(send::SendArgs),
    /// List, show, search, export and archive stored conversations.
    #[command(subcommand)]
    Conversations(conversations::ConversationsCommand),
    /// Print messages to or from a module as they land, from any server process.
    Listen {
        /// The module whose messages to print.
        module: String,
    },
    /// Background instances of every server sharing the database.
    #[command(subcommand)]
    Instances(instances::InstancesCommand),
    /// Questions sent with `send --background`: list, show, wait for, cancel.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Access tokens for hosts on other machines: create, list, revoke.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// The nodes of the fleet that shares this PostgreSQL store: status.
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
    /// The store that keeps conversations (SQLite or PostgreSQL): status, and
    /// copy into another store (SQLite to PostgreSQL and back).
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    /// The hub daemon that owns every child for this data dir: run, start, stop, status.
    #[command(subcommand)]
    Daemon(daemon::DaemonCommand),
    /// Live view of every instance, its output and the newest messages
    /// (full screen on a terminal, plain lines in a pipe); with an ID, follow
    /// that instance's events like `instances monitor ID`.
    Monitor {
        /// Follow this instance only (plain lines).
        id: Option<String>,
        /// With an ID: lines of history to show first.
        #[arg(long, default_value_t = 20)]
        lines: usize,
    },
    /// Per module pair: queries, p50/p95 latency, tokens in/out, cost and
    /// failures by cause (`stats --module M --since 7d`).
    Stats(stats::StatsArgs),
    /// Check node/npx, the child package, the `claude` CLI, the data dir and
    /// the database, and say how to fix each problem.
    Doctor {
        /// Skip starting a claude-code-mcp child (the default when the child
        /// command is npx, which may download the package first).
        #[arg(long, conflicts_with = "start")]
        no_start: bool,
        /// Start a claude-code-mcp child even when that may download it.
        #[arg(long)]
        start: bool,
    },
    /// Make this machine ready for a first answer: install the pinned
    /// claude-code-mcp into the data dir (npm, never globally), point the
    /// config's child command at it, and check the `claude` CLI and its
    /// login. Running it again changes nothing.
    Setup {
        /// Only report what is missing; change nothing (exit code 1 when something is).
        #[arg(long)]
        check: bool,
        /// Replace a child command you set yourself (setup only replaces `npx` and its kin).
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script: `claude-comms completions bash > ~/.local/share/bash-completion/completions/claude-comms`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of claude-comms: `claude-comms man | man -l -`.
    Man,

    // The seed's flat command names, kept so existing scripts keep working.
    /// Ask a module (the seed's form): `query-module TARGET "MESSAGE" [--background]`.
    #[command(name = "query-module")]
    QueryModule(send::QueryModuleArgs),
    /// Same as `conversations list`.
    #[command(name = "list-conversations")]
    ListConversations {
        /// Only conversations this module takes part in.
        #[arg(long)]
        module: Option<String>,
    },
    /// Same as `send --conversation ID MESSAGE`.
    #[command(name = "continue-conversation")]
    ContinueConversation {
        /// The conversation to continue.
        id: String,
        /// The message.
        #[arg(required = true)]
        message: Vec<String>,
    },
    /// Export a conversation to a file (`<id>.<format>` unless --output; `--output -` prints it).
    #[command(name = "export-conversation")]
    ExportConversation {
        /// The conversation's id (or its first 8+ characters).
        #[arg(long = "id", value_name = "ID")]
        id_flag: Option<String>,
        /// The conversation's id, given without --id.
        id: Option<String>,
        /// json, jsonl or markdown.
        #[arg(long, default_value = "json")]
        format: String,
        /// The file to write; `-` for stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Same as `listen` (`listen-module --module NAME` or `listen-module NAME`).
    #[command(name = "listen-module")]
    ListenModule {
        /// The module whose messages to print.
        #[arg(long = "module", value_name = "NAME")]
        module_flag: Option<String>,
        /// The module, given without --module.
        module: Option<String>,
    },
    /// Same as `instances start` (`start-instance --name marker_arangodb`).
    #[command(name = "start-instance")]
    StartInstance(instances::StartArgs),
    /// Same as `instances list`.
    #[command(name = "list-instances")]
    ListInstances,
    /// Same as `instances stop` (`stop-instance --id ID`).
    #[command(name = "stop-instance")]
    StopInstance {
        /// The instance to stop (`claude-comms instances list` shows the ids).
        #[arg(long = "id", value_name = "ID")]
        id_flag: Option<String>,
        /// The instance, given without --id.
        id: Option<String>,
    },
    /// Same as `instances monitor` (`monitor-instance --id ID`).
    #[command(name = "monitor-instance")]
    MonitorInstance {
        /// The instance to follow (`claude-comms instances list` shows the ids).
        #[arg(long = "id", value_name = "ID")]
        id_flag: Option<String>,
        /// The instance, given without --id.
        id: Option<String>,
    },
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            descriptor_dirs: self.descriptors.clone(),
        }
    }
}

/// `agent-tools --scope FILE` (started by an answering agent's `claude`,
/// see `mcp/agent_tools.rs`): warnings to stderr, which the agent's
/// `claude` keeps; stdout carries only the protocol. Its exit code.
pub fn run_agent_tools(scope: &std::path::Path) -> std::process::ExitCode {
    let _ = crate::logging::init("warn", None);
    let served = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime
                .block_on(crate::mcp::serve_agent_tools(scope))
                .map_err(anyhow::Error::from)
        });
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("agent tools: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Runs a command other than `serve`. Returns the process exit code.
pub async fn run(cli: Cli, config: LoadedConfig) -> anyhow::Result<i32> {
    // A hub error a command returns with `?` reaches `main` as text: word
    // it for the CLI here, while its variant is still known.
    run_command(cli, config)
        .await
        .map_err(error_words::with_cli_words)
}

async fn run_command(cli: Cli, config: LoadedConfig) -> anyhow::Result<i32> {
    let out = Output::new(cli.json);
    if !matches!(
        cli.command,
        Command::Daemon(_) | Command::Completions { .. } | Command::Man
    ) && let Some(note) = daemon::other_build_note(&config)
    {
        out.note(format!("note: {note}"))?;
    }
    let command = match seed_names::resolve(cli.command, &out)? {
        ControlFlow::Continue(command) => command,
        ControlFlow::Break(code) => return Ok(code),
    };
    match command {
        Command::Serve { .. } | Command::AgentTools { .. } => {
            unreachable!("serve and agent-tools are started by main")
        }
        Command::Modules(cmd) => modules::run(cmd, config, &out).await,
        Command::Config(cmd) => config_cmd::run(cmd, &config, &out),
        Command::Daemon(cmd) => daemon::run(cmd, config, &out).await,
        Command::Setup { check, force } => {
            let options = crate::setup::SetupOptions { check, force };
            setup::run(&config, options, &out).await
        }
        Command::Completions { shell } => shell::completions(shell),
        Command::Man => shell::man(),
        command => run_with_hub(command, config, &out).await,
    }
}

/// The commands that work through a hub: in this process, or the daemon's
/// when the `hub` policy uses one.
async fn run_with_hub(command: Command, config: LoadedConfig, out: &Output) -> anyhow::Result<i32> {
    let hub = Hub::open_routed(config.clone(), None)?;
    match command {
        Command::Send(args) => send::send(&hub, &config, args, out).await,
        Command::Jobs(cmd) => jobs::run(&hub, cmd, out).await,
        Command::Tokens(cmd) => tokens::run(&hub, cmd, out).await,
        Command::Conversations(cmd) => conversations::run(&hub, cmd, out).await,
        Command::Listen { module } => conversations::listen(&hub, &module, out).await,
        Command::Instances(cmd) => instances::run(&hub, cmd, out).await,
        Command::Monitor {
            id: Some(id),
            lines,
        } => instances::monitor(&hub, &id, lines, out).await,
        Command::Monitor { id: None, .. } => {
            let code = dashboard::run(hub.clone(), out).await;
            hub.shutdown().await;
            code
        }
        Command::Doctor { no_start, start } => doctor::run(&hub, no_start, start, out).await,
        Command::Stats(args) => stats::run(&hub, args, out).await,
        Command::Store(cmd) => store_cmd::run(&hub, cmd, out).await,
        Command::Fleet(cmd) => fleet::run(&hub, cmd, out).await,
        _ => unreachable!("every other command is run without a hub, or renamed by seed_names"),
    }
}
