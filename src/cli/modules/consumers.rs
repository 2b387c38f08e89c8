//! `modules consumers NAME [--data-type T]`: the modules that can consume
//! what NAME produces.

use crate::cli::output::Output;
use crate::hub::Hub;

pub fn run(hub: &Hub, name: &str, data_type: Option<&str>, out: &Output) -> anyhow::Result<i32> {
    let list = match hub.modules().consumers(name, data_type) {
        Ok(list) => list,
        Err(e) => return out.error_exit(e),
    };
    if out.json {
        out.json(&list)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = list
        .consumers
        .iter()
        .map(|c| {
            vec![
                c.module.clone(),
                c.data_types.join(","),
                c.relationships.join("; "),
            ]
        })
        .collect();
    out.table(&["CONSUMER", "DATA TYPES", "RELATIONSHIPS"], &rows)?;
    Ok(0)
}
