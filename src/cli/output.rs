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

    /// Prints a warning or error for people, on stderr.
    pub fn note(&self, text: impl AsRef<str>) -> anyhow::Result<()> {
        writeln!(std::io::stderr().lock(), "{}", text.as_ref())?;
        Ok(())
    }
}

/// How long ago a unix-ms time was, as a person reads it: "3 s ago",
/// "5 min ago", "2 h ago", "4 d ago".
pub fn ago(at_ms: i64) -> String {
    let s = ((crate::time::now_ms() - at_ms).max(0) / 1000) as u64;
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86400),
    }
}
