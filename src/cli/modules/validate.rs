//! `modules validate FILE...`: checks descriptor files without registering
//! them; exit 1 if any is invalid.

use std::path::PathBuf;

use serde_json::json;

use crate::cli::output::Output;
use crate::descriptor::parse_descriptor;

pub fn run(files: &[PathBuf], out: &Output) -> anyhow::Result<i32> {
    let results: Vec<(String, Result<String, String>)> = files
        .iter()
        .map(|file| (file.display().to_string(), module_named_in(file)))
        .collect();
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if out.json {
        out.json(
            &results
                .iter()
                .map(|(file, r)| match r {
                    Ok(name) => json!({"file": file, "valid": true, "module": name}),
                    Err(e) => json!({"file": file, "valid": false, "errors": e.lines().collect::<Vec<_>>()}),
                })
                .collect::<Vec<_>>(),
        )?;
    } else {
        for (file, r) in &results {
            match r {
                Ok(name) => out.line(format!("ok    {file} (module {name})"))?,
                Err(e) => {
                    out.line(format!("FAIL  {file}"))?;
                    for line in e.lines() {
                        out.line(format!("      {line}"))?;
                    }
                }
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The module a valid descriptor file names, or what is wrong with it.
fn module_named_in(file: &std::path::Path) -> Result<String, String> {
    let (shown, format, text) = super::read_descriptor_file(file)?;
    parse_descriptor(&shown, &text, format)
        .map(|d| d.name)
        .map_err(|e| e.to_string())
}
