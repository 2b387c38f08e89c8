//! Logging: `tracing` to stderr (never stdout, which carries protocol
//! frames), and optionally appended to a file as well, each with its own
//! level (the CLI keeps stderr to errors so its output stays readable, while
//! its log file still gets everything the configured level lets through).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// Why logging could not be set up; each keeps what went wrong beneath it
/// as its source (shown after the words, `: `-joined).
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("log_level \"{filter}\" is not a valid filter")]
    Filter {
        filter: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("log file {}", path.display())]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The log file's folder could not be made.
    #[error(transparent)]
    Folder(std::io::Error),
    #[error("cannot install the logger")]
    Install(#[source] tracing_subscriber::util::TryInitError),
}

fn filter_of(filter: &str) -> Result<EnvFilter, LogError> {
    EnvFilter::try_new(filter).map_err(|source| LogError::Filter {
        filter: filter.to_string(),
        source,
    })
}

/// Installs the global subscriber. Filters use `EnvFilter` syntax (`info`,
/// `claude_comms=debug,rmcp=warn`, ...): `stderr_filter` for stderr, and
/// `file` is a log file with its own filter.
pub fn init(stderr_filter: &str, file: Option<(&std::path::Path, &str)>) -> Result<(), LogError> {
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter_of(stderr_filter)?);
    let file_layer = match file {
        Some((path, filter)) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(LogError::Folder)?;
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| LogError::File {
                    path: path.to_path_buf(),
                    source,
                })?;
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::sync::Mutex::new(f))
                    .with_ansi(false)
                    .with_filter(filter_of(filter)?),
            )
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init()
        .map_err(LogError::Install)
}
