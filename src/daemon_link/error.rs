//! What can go wrong finding, starting, locking or stopping the daemon of a
//! data dir, outside a call to it ([`super::client::DaemonError`] is a call's).

use std::path::PathBuf;

use super::lock::LockHeld;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A file or process step failed; `what` says which and names the file.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Another daemon holds the data dir's lock.
    #[error(transparent)]
    LockHeld(#[from] LockHeld),
    /// The daemon did not start or did not answer in time; the words say
    /// which and quote its log.
    #[error("{0}")]
    NotStarted(String),
    /// A daemon holds the lock but left no state file to say which.
    #[error("a daemon holds {} but {} is missing", lock.display(), state.display())]
    StateMissing { lock: PathBuf, state: PathBuf },
    #[error("daemon pid {0} did not stop")]
    NotStopped(u32),
}

impl LinkError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> LinkError {
        LinkError::Io {
            what: what.into(),
            source,
        }
    }
}

/// An error and its sources, `: `-joined (as the CLI shows an error), for
/// errors carried on as text.
pub fn full_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
