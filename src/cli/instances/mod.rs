//! `claude-comms instances list | start | stop ID | pause ID | resume ID | restart ID | monitor ID`:
//! the background instances of every server process sharing the database.
//! One file per subcommand (stop, pause, resume and restart are one
//! request, in `control.rs`); `run` only dispatches.

mod control;
mod list;
mod monitor;
mod start;

pub use monitor::run as monitor;

use clap::Subcommand;

use super::output::Output;
use crate::config::BackendKind;
use crate::hub::{ControlAction, Hub};

#[derive(Debug, Subcommand)]
pub enum InstancesCommand {
    /// Instances of all servers (dead servers' rows are marked dead).
    List,
    /// Start an instance. With the hub daemon (the default) it runs there and
    /// this returns at once; without one (hub = "embedded") it runs in this
    /// process until Ctrl-C, printing its events.
    Start(StartArgs),
    /// Stop an instance (in whichever server runs it).
    Stop {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
    },
    /// Take no new work on an instance; what is in flight finishes.
    Pause {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
    },
    /// Let a paused (or crash-looping) instance take work again.
    Resume {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
    },
    /// Replace an instance's child with a fresh process (same id and pairs).
    Restart {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
    },
    /// Follow an instance's stderr and events live.
    Monitor {
        /// The instance (`claude-comms instances list` shows the ids).
        id: String,
        /// Lines of history to show first.
        #[arg(long, default_value_t = 20)]
        lines: usize,
    },
}

/// Arguments of `instances start` (and the seed's `start-instance`).
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// `claude-code-mcp` (default) or `claude-stream`.
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// A name every instance command accepts instead of the id; `SOURCE_TARGET`
    /// of two known modules (e.g. marker_arangodb) binds that pair.
    #[arg(long)]
    pub name: Option<String>,
    /// The answering module this instance serves (the asker: --from, or
    /// CLAUDE_COMMS_MODULE, or the module of the current folder).
    #[arg(long)]
    pub module: Option<String>,
    /// The asking module, with --module.
    #[arg(long = "from", env = "CLAUDE_COMMS_MODULE")]
    pub from: Option<String>,
    /// The pair it serves, as SOURCE:TARGET.
    #[arg(long, value_name = "SOURCE:TARGET")]
    pub pair: Option<String>,
}

pub async fn run(
    hub: &std::sync::Arc<Hub>,
    cmd: InstancesCommand,
    out: &Output,
) -> anyhow::Result<i32> {
    match cmd {
        InstancesCommand::List => list::run(hub, out).await,
        InstancesCommand::Start(args) => start::run(hub, args, out).await,
        InstancesCommand::Stop { id } => control::run(hub, &id, ControlAction::Stop, out).await,
        InstancesCommand::Pause { id } => control::run(hub, &id, ControlAction::Pause, out).await,
        InstancesCommand::Resume { id } => control::run(hub, &id, ControlAction::Resume, out).await,
        InstancesCommand::Restart { id } => {
            control::run(hub, &id, ControlAction::Restart, out).await
        }
        InstancesCommand::Monitor { id, lines } => monitor::run(hub, &id, lines, out).await,
    }
}
