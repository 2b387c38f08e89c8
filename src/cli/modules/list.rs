//! `modules list`: the known modules as a table; descriptor files that
//! failed to load, warnings and overrides on stderr.

use crate::cli::output::Output;
use crate::descriptor::ModuleFilter;
use crate::hub::Hub;

pub fn run(hub: &Hub, filter: &ModuleFilter, out: &Output) -> anyhow::Result<i32> {
    let list = hub.modules().list(filter);
    if out.json {
        out.json(&list)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = list
        .modules
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.version.clone(),
                m.origin.clone(),
                m.capabilities.join(","),
                m.description.clone(),
            ]
        })
        .collect();
    out.table(
        &["NAME", "VERSION", "ORIGIN", "CAPABILITIES", "DESCRIPTION"],
        &rows,
    )?;
    for e in &list.load_errors {
        out.note(format!("load error: {e}"))?;
    }
    for w in &list.warnings {
        out.note(format!("warning: {w}"))?;
    }
    for o in &list.overrides {
        out.note(format!("override: {o}"))?;
    }
    Ok(0)
}
