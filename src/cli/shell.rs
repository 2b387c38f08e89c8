//! `claude-comms completions SHELL` and `claude-comms man`: generated from
//! the same clap definitions as the parser, so they never drift from it.

use clap::CommandFactory;

use super::Cli;

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<i32> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "claude-comms", &mut std::io::stdout());
    Ok(0)
}

/// Writes the man page (roff) to stdout: the main page, then one section
/// per visible subcommand, so `man -l` shows every command and flag.
pub fn man() -> anyhow::Result<i32> {
    let command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(command.clone()).render(&mut out)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("claude-comms-{}", sub.get_name());
        let sub = sub.clone().display_name(name);
        clap_mangen::Man::new(sub).render(&mut out)?;
    }
    Ok(0)
}
