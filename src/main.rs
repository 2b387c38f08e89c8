//! The `claude-comms` binary: parse the command line, load the
//! configuration, start logging, and hand over to the library.

use clap::Parser;
use claude_comms::cli::{Cli, Command};
use claude_comms::config::LoadedConfig;
use claude_comms::hub::Hub;

fn main() -> std::process::ExitCode {
    // Run as claude-code-mcp's `claude` for a restricted module: becomes the
    // real `claude` with the module's policy (see policy::shim).
    claude_comms::policy::shim::run_if_requested();
    let cli = Cli::parse();
    // An answering agent's tools need only the scope the hub wrote for
    // them, not this user's config (the agent may run with another HOME).
    if let Command::AgentTools { scope } = &cli.command {
        return claude_comms::cli::run_agent_tools(scope);
    }
    let config = match LoadedConfig::load(&cli.overrides()) {
        Ok(config) => config,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("claude-comms: {e}");
            }
            return std::process::ExitCode::from(2);
        }
    };
    // `serve` logs at the configured level. The CLI shows only errors on
    // stderr unless asked with -v (its output is for people, and a WARN
    // line between table rows reads as noise); its log file, if any, still
    // gets the configured level.
    let serving = matches!(cli.command, Command::Serve { .. })
        || matches!(
            cli.command,
            Command::Daemon(claude_comms::cli::DaemonCommand::Run { .. })
        );
    let configured = config.config.log_level.clone();
    let stderr_level = match (serving, cli.verbose) {
        (true, _) => configured.clone(),
        (false, 0) => "error".to_string(),
        (false, 1) => "info".to_string(),
        (false, _) => "debug".to_string(),
    };
    let log_file = config
        .config
        .log_file
        .as_ref()
        .map(std::path::PathBuf::from);
    if let Err(e) = claude_comms::logging::init(
        &stderr_level,
        log_file.as_deref().map(|f| (f, configured.as_str())),
    ) {
        #[allow(clippy::print_stderr)]
        {
            // The words and then their cause, as every other error.
            eprintln!("claude-comms: {:#}", anyhow::Error::from(e));
        }
        return std::process::ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("claude-comms: cannot start the async runtime: {e}");
            }
            return std::process::ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { module } => {
                // An empty name (a bundle's unset setting) names no module.
                let module = module.filter(|m| !m.trim().is_empty());
                let hub = Hub::open_routed(config, module)?;
                // serve_stdio announces the hub beside the handshake.
                claude_comms::mcp::serve_stdio(hub).await?;
                Ok(0)
            }
            _ => claude_comms::cli::run(cli, config).await,
        }
    });
    // Reading stdin occupies a blocking thread that only returns when stdin
    // closes; after a signal it may never do so. Everything that matters
    // (children stopped, frames written) is done by now: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => std::process::ExitCode::from(code as u8),
        // A closed pipe (`claude-comms ... | head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            if serving {
                tracing::error!("{e:#}");
            }
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "claude-comms: {}",
                    claude_comms::cli::cli_words(&format!("{e:#}"))
                );
            }
            std::process::ExitCode::from(1)
        }
    }
}
