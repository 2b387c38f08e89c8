//! The operator CLI: `claude-comms <command>`. Every command calls the same
//! [`crate::hub::Hub`] API as the MCP server; this layer only parses
//! arguments and prints tables (or JSON with `--json`).

mod config_cmd;
mod modules;
mod output;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{LoadedConfig, Overrides};

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
    let out = output::Output::new(cli.json);
    match cli.command {
        Command::Serve { .. } => unreachable!("serve is started by main"),
        Command::Modules(cmd) => modules::run(cmd, config, &out),
        Command::RegisterModule { file } => {
            modules::run(modules::ModulesCommand::Register { file }, config, &out)
        }
        Command::Config(cmd) => config_cmd::run(cmd, &config, &out),
    }
}
