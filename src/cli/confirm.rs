//! Asking the person at the terminal before doing what cannot be undone
//! (`conversations delete` and `prune`) or what replaces their file
//! (`modules init --draft`). Each caller says in its own words what a "no"
//! or a missing terminal means for it.

use std::io::{BufRead, IsTerminal, Write};

/// What came back from asking.
pub enum Answer {
    Yes,
    No,
    /// stdin is not a terminal, so nobody was asked.
    NoTerminal,
}

/// Asks `question` on stderr, followed by ` [y/N] `, and reads a line:
/// `y` or `yes` (in any case) is yes, anything else no.
pub fn ask(question: &str) -> anyhow::Result<Answer> {
    if !std::io::stdin().is_terminal() {
        return Ok(Answer::NoTerminal);
    }
    {
        let mut stderr = std::io::stderr().lock();
        write!(stderr, "{question} [y/N] ")?;
        stderr.flush()?;
    }
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let yes = matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
    Ok(if yes { Answer::Yes } else { Answer::No })
}
