//! `claude-comms config show`.

use clap::Subcommand;
use serde_json::json;

use super::output::Output;
use crate::config::LoadedConfig;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every effective value and where it came from.
    Show,
}

pub fn run(cmd: ConfigCommand, config: &LoadedConfig, out: &Output) -> anyhow::Result<i32> {
    match cmd {
        ConfigCommand::Show => {
            let entries = config.entries();
            // Shown under the same rules as the values (a URL keeps no password).
            let database =
                crate::redact::redact_url_passwords(&config.database_path().display().to_string())
                    .into_owned();
            if out.json {
                out.json(&json!({
                    "config_file": config.paths.config_file,
                    "data_dir": config.paths.data_dir,
                    "database": database,
                    "values": entries.iter().map(|(k, v, s)| json!({"key": k, "value": v, "source": s})).collect::<Vec<_>>(),
                }))?;
            } else {
                out.line(format!(
                    "config file: {}",
                    config.paths.config_file.display()
                ))?;
                out.line(format!("data dir:    {}", config.paths.data_dir.display()))?;
                out.line(format!("database:    {database}"))?;
                out.line("")?;
                let rows: Vec<Vec<String>> = entries
                    .into_iter()
                    .map(|(k, v, s)| vec![k, v.to_string(), s])
                    .collect();
                out.table(&["KEY", "VALUE", "SOURCE"], &rows)?;
            }
            Ok(0)
        }
    }
}
