//! Logging: `tracing` to stderr (never stdout, which carries protocol
//! frames), and optionally appended to a file as well, each with its own
//! level (the CLI keeps stderr to errors so its output stays readable, while
//! its log file still gets everything the configured level lets through).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

fn filter_of(filter: &str) -> anyhow::Result<EnvFilter> {
    EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("log_level \"{filter}\" is not a valid filter: {e}"))
}

/// Installs the global subscriber. Filters use `EnvFilter` syntax (`info`,
/// `claude_comms=debug,rmcp=warn`, ...): `stderr_filter` for stderr, and
/// `file` is a log file with its own filter.
pub fn init(stderr_filter: &str, file: Option<(&std::path::Path, &str)>) -> anyhow::Result<()> {
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter_of(stderr_filter)?);
    let file_layer = match file {
        Some((path, filter)) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("log file {}: {e}", path.display()))?;
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
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}
