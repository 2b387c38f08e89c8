//! `modules show NAME`: one module's descriptor as YAML, under comment
//! lines that say where it comes from, its agent folder, who relies on it
//! and its permissions.

use crate::cli::output::Output;
use crate::hub::Hub;

pub fn run(hub: &Hub, name: &str, out: &Output) -> anyhow::Result<i32> {
    let details = match hub.modules().describe(name) {
        Ok(details) => details,
        Err(e) => return out.error_exit(e),
    };
    if out.json {
        out.json(&details)?;
        return Ok(0);
    }
    let yaml = serde_saphyr::to_string(&details.descriptor)?;
    out.line(format!(
        "# {} ({}: {})",
        details.descriptor.name, details.origin, details.file
    ))?;
    if let Some(folder) = &details.folder {
        out.line(format!("# agent folder: {folder}"))?;
    }
    if let Some(e) = &details.folder_error {
        out.note(format!("warning: {e}"))?;
    }
    for w in &details.warnings {
        out.note(format!("warning: {w}"))?;
    }
    for r in &details.inbound_relationships {
        out.line(format!("# inbound: {r}"))?;
    }
    let p = &details.policy;
    out.line(format!(
        "# permissions: {} ({}): {}",
        p.policy.mode.as_str(),
        p.policy.from,
        p.summary
    ))?;
    if let Some(warning) = &p.warning {
        out.line(format!("# warning: {warning}"))?;
    }
    out.line(yaml.trim_end())?;
    Ok(0)
}
