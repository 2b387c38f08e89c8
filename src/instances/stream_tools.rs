//! The agent tools of a persistent `claude` (issue 29). The process starts
//! its `claude-comms agent-tools` once, from an MCP config written for it;
//! but it answers many questions, one turn at a time, so the tools' scope
//! file is the question of the current turn: copied in before the turn,
//! removed after it (between turns the tools act on nothing).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::AgentToolsSetup;
use crate::policy::agent_tools;

/// One process's MCP config and scope file; removed when dropped.
#[derive(Debug)]
pub(super) struct StreamTools {
    config: PathBuf,
    scope: PathBuf,
}

impl StreamTools {
    /// Writes the process's MCP config (its scope file follows the turns).
    pub fn create(setup: &AgentToolsSetup) -> std::io::Result<StreamTools> {
        std::fs::create_dir_all(&setup.dir)?;
        let name = format!("stream-{}", uuid::Uuid::new_v4().simple());
        let tools = StreamTools {
            config: setup.dir.join(format!("{name}.json")),
            scope: setup.dir.join(format!("{name}.scope.json")),
        };
        let config = agent_tools::mcp_config(&setup.exe, &tools.scope).to_string();
        write_private(&tools.config, config.as_bytes())?;
        Ok(tools)
    }

    /// The `claude` arguments that start the tools.
    pub fn args(&self) -> Vec<String> {
        agent_tools::claude_args(&self.config)
    }

    /// Points the tools at the question of the turn about to start
    /// (`Some`), or at nothing once it is over (`None`).
    pub fn follow(&self, scope: Option<&Path>) {
        let done = match scope {
            Some(question) => std::fs::read(question).and_then(|text| {
                // Replaced whole (write then rename): the tools never read
                // half a scope.
                let temp = self.scope.with_extension("tmp");
                write_private(&temp, &text)?;
                std::fs::rename(&temp, &self.scope)
            }),
            None => match std::fs::remove_file(&self.scope) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            },
        };
        if let Err(e) = done {
            tracing::warn!(scope = %self.scope.display(), error = %e, "the agent tools cannot follow the turn");
        }
    }
}

impl Drop for StreamTools {
    fn drop(&mut self) {
        for path in [&self.config, &self.scope] {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}
