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

    /// Prints one finding of `doctor` or `setup`: `[mark] name: detail`,
    /// then `fix: ...` under it when there is something to do.
    pub fn finding(&self, mark: &str, name: &str, detail: &str, fix: &str) -> anyhow::Result<()> {
        self.line(format!("[{mark}] {name}: {detail}"))?;
        if !fix.is_empty() {
            self.line(format!("       fix: {fix}"))?;
        }
        Ok(())
    }

    /// Prints a hub error on stderr in the CLI's words (see
    /// [`super::error_words`]).
    pub fn error(&self, e: &crate::hub::HubError) -> anyhow::Result<()> {
        self.note(format!("error: {}", super::error_words::in_cli_words(e)))
    }

    /// Prints a hub error as [`Output::error`] does and gives the exit
    /// code of a command that failed with it (1).
    pub fn hub_error_exit(&self, e: &crate::hub::HubError) -> anyhow::Result<i32> {
        self.error(e)?;
        Ok(1)
    }

    /// Prints `error: <what>` on stderr (the error's own words, not the
    /// CLI's) and gives the exit code of a command that failed with it (1).
    pub fn error_exit(&self, what: impl std::fmt::Display) -> anyhow::Result<i32> {
        self.note(format!("error: {what}"))?;
        Ok(1)
    }

    /// Prints a warning or error for people, on stderr.
    pub fn note(&self, text: impl AsRef<str>) -> anyhow::Result<()> {
        writeln!(std::io::stderr().lock(), "{}", text.as_ref())?;
        Ok(())
    }
}
