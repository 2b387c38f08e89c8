//! Printing for the CLI: aligned tables for people, JSON for scripts.

use std::io::Write;

use serde::Serialize;

pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// Prints a value as pretty JSON.
    pub fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, value)?;
        writeln!(stdout)?;
        Ok(())
    }

    /// Prints lines of text.
    pub fn line(&self, text: impl AsRef<str>) -> anyhow::Result<()> {
        writeln!(std::io::stdout().lock(), "{}", text.as_ref())?;
        Ok(())
    }

    /// Prints rows under a header, each column as wide as its widest cell.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut stdout = std::io::stdout().lock();
        let render = |cells: Vec<&str>| {
            let last = cells.len() - 1;
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == last {
                        c.to_string()
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
        };
        writeln!(stdout, "{}", render(header.to_vec()))?;
        for row in rows {
            writeln!(
                stdout,
                "{}",
                render(row.iter().map(String::as_str).collect())
            )?;
        }
        Ok(())
    }

    /// Prints an error on stderr in the CLI's words (see [`cli_words`]).
    pub fn error(&self, e: impl std::fmt::Display) -> anyhow::Result<()> {
        self.note(format!("error: {}", cli_words(&e.to_string())))
    }

    /// Prints a warning or error for people, on stderr.
    pub fn note(&self, text: impl AsRef<str>) -> anyhow::Result<()> {
        writeln!(std::io::stderr().lock(), "{}", text.as_ref())?;
        Ok(())
    }
}

/// The hub words its errors for MCP callers, who name tool arguments
/// (`source`, `target`, ...); a CLI user typed flags. Each argument named
/// in an error becomes the flag that sets it.
pub fn cli_words(text: &str) -> String {
    const FLAGS: &[(&str, &str)] = &[
        ("argument `source`", "--from"),
        ("argument `target`", "--to"),
        ("argument `conversation_id`", "--conversation"),
        ("argument `idempotency_key`", "--idempotency-key"),
        ("argument `timeout_s`", "--timeout"),
        ("argument `message`", "the message"),
        ("argument `module`", "--module"),
        ("argument `status`", "--status"),
        ("argument `format`", "--format"),
        ("give a conversation_id", "give --conversation"),
        // The failure explanation written for agents (through the daemon
        // the CLI gets it as text): the CLI's own way to ask again.
        (
            "send it again with this conversation_id (the history is kept)",
            "ask again with `claude-comms send --conversation ID MESSAGE` (ID as above; the history is kept)",
        ),
        (
            "this server was not started with --module (or CLAUDE_COMMS_MODULE)",
            "no CLAUDE_COMMS_MODULE is set",
        ),
    ];
    FLAGS
        .iter()
        .fold(text.to_string(), |text, (hub, cli)| text.replace(hub, cli))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hub_arguments_become_the_flags_a_cli_user_typed() {
        assert_eq!(
            super::cli_words(
                "argument `source`: no asking module given, and this server was not started with --module (or CLAUDE_COMMS_MODULE)"
            ),
            "--from: no asking module given, and no CLAUDE_COMMS_MODULE is set"
        );
        assert_eq!(
            super::cli_words(
                "argument `target`: name the module to ask, or give a conversation_id"
            ),
            "--to: name the module to ask, or give --conversation"
        );
    }
}
