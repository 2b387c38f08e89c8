//! Why the daemon did not start or stopped serving: a `[daemon]` setting
//! that cannot work, its TLS files, the data dir's lock, the hub, or a file
//! or socket step (each keeps the error beneath it as its source).

use super::tls::TlsError;
use crate::daemon_link::LinkError;
use crate::hub::HubError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A `[daemon]` setting that cannot work, in words that name it.
    #[error("{0}")]
    Setting(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The data dir's lock (another daemon may hold it).
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Hub(#[from] HubError),
    /// This node was refused by the fleet (its name is taken, or the
    /// fleet runs another schema).
    #[error("cannot join the fleet")]
    Fleet(#[source] HubError),
    /// A socket, signal or file step failed; `what` says which.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Os(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl RunError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> RunError {
        RunError::Io {
            what: what.into(),
            source,
        }
    }

    /// Another daemon holds the data dir's lock: `daemon run` exits with
    /// its own code then.
    pub fn is_lock_held(&self) -> bool {
        matches!(self, RunError::Link(LinkError::LockHeld(_)))
    }
}
