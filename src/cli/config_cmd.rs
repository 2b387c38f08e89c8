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
        ConfigCommand::Show => show(config, out),
    }
}

/// `config show`: every effective value and where it came from, then each
/// module's permission policy.
fn show(config: &LoadedConfig, out: &Output) -> anyhow::Result<i32> {
    let entries = config.entries();
    // Shown under the same rules as the values (a URL keeps no password).
    let database = config.store_shown();
    // Each known module's effective permission policy.
    let modules: Vec<String> = crate::descriptor::Registry::load(config.descriptor_sources())
        .names()
        .map(str::to_string)
        .collect();
    let policies = crate::policy::report::policies(&config.config, modules.iter().cloned());
    let warnings = crate::policy::report::warnings(&config.config, &modules);
    if out.json {
        out.json(&json!({
            "config_file": config.paths.config_file,
            "data_dir": config.paths.data_dir,
            "database": database,
            "values": entries.iter().map(|(k, v, s)| json!({"key": k, "value": v, "source": s})).collect::<Vec<_>>(),
            "permissions": policies,
            "warnings": warnings,
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
        out.line("")?;
        let rows: Vec<Vec<String>> = policies
            .iter()
            .map(|m| {
                vec![
                    m.module.clone(),
                    m.view.policy.mode.as_str().to_string(),
                    m.view.summary.clone(),
                    m.view.policy.from.clone(),
                ]
            })
            .collect();
        out.table(&["MODULE", "PERMISSIONS", "ALLOWS", "FROM"], &rows)?;
        for w in &warnings {
            out.note(format!("warning: {w}"))?;
        }
    }
    Ok(0)
}
