//! Name, version and description from a folder's package manifest, and the
//! languages whose files are there.

use std::path::Path;

/// What a manifest said.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub file: &'static str,
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
}

/// The first manifest found, in this order. A manifest that is there but
/// cannot be read is an error naming it (a broken Cargo.toml is worth
/// knowing about); one without a name (a Cargo workspace root) is skipped.
pub fn read(folder: &Path) -> Result<Option<Manifest>, String> {
    type Reader = fn(&str) -> Result<Option<Manifest>, String>;
    let readers: [(&str, Reader); 4] = [
        ("Cargo.toml", cargo),
        ("package.json", node),
        ("pyproject.toml", python),
        ("go.mod", go),
    ];
    for (file, reader) in readers {
        let path = folder.join(file);
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        if let Some(found) = reader(&text).map_err(|e| format!("{}: {e}", path.display()))? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn toml_table(text: &str) -> Result<toml::Table, String> {
    text.parse::<toml::Table>().map_err(|e| e.to_string())
}

fn string_at(table: &toml::Table, keys: &[&str]) -> Option<String> {
    let mut value = table.get(keys[0])?;
    for key in &keys[1..] {
        value = value.get(key)?;
    }
    value.as_str().map(str::to_string)
}

fn cargo(text: &str) -> Result<Option<Manifest>, String> {
    let table = toml_table(text)?;
    Ok(
        string_at(&table, &["package", "name"]).map(|name| Manifest {
            file: "Cargo.toml",
            name,
            version: string_at(&table, &["package", "version"]),
            description: string_at(&table, &["package", "description"]),
        }),
    )
}

fn python(text: &str) -> Result<Option<Manifest>, String> {
    let table = toml_table(text)?;
    // PEP 621's [project], else Poetry's [tool.poetry].
    for base in [&["project"][..], &["tool", "poetry"][..]] {
        let key = |k: &'static str| [base, &[k]].concat();
        if let Some(name) = string_at(&table, &key("name")) {
            return Ok(Some(Manifest {
                file: "pyproject.toml",
                name,
                version: string_at(&table, &key("version")),
                description: string_at(&table, &key("description")),
            }));
        }
    }
    Ok(None)
}

fn node(text: &str) -> Result<Option<Manifest>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let text_of = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
    Ok(text_of("name").map(|name| Manifest {
        file: "package.json",
        name,
        version: text_of("version"),
        description: text_of("description"),
    }))
}

fn go(text: &str) -> Result<Option<Manifest>, String> {
    // go.mod names the module path; Go versions live in tags, not here.
    Ok(text
        .lines()
        .find_map(|line| line.trim().strip_prefix("module "))
        .map(|path| Manifest {
            file: "go.mod",
            name: path.trim().trim_matches('"').to_string(),
            version: None,
            description: None,
        }))
}

/// Folders never looked into for source files.
const SKIPPED: &[&str] = &[
    "node_modules",
    "target",
    ".git",
    ".venv",
    "venv",
    "vendor",
    "dist",
];

/// The languages whose manifests or source files are in `folder` or one
/// level below, as tags, in a fixed order.
pub fn languages(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut look = |dir: &Path| -> Vec<std::path::PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut subfolders = Vec::new();
        for entry in entries.flatten().take(2000) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if !SKIPPED.contains(&name.as_str()) && !name.starts_with('.') {
                    subfolders.push(path);
                }
            } else {
                names.push(name);
            }
        }
        subfolders
    };
    for sub in look(folder) {
        look(&sub);
    }
    let has = |test: &dyn Fn(&str) -> bool| names.iter().any(|n| test(n));
    let mut tags = Vec::new();
    if has(&|n| n == "Cargo.toml" || n.ends_with(".rs")) {
        tags.push("rust");
    }
    if has(&|n| n == "tsconfig.json" || n.ends_with(".ts") || n.ends_with(".tsx")) {
        tags.push("typescript");
    }
    if has(&|n| n == "package.json" || n.ends_with(".js") || n.ends_with(".mjs")) {
        tags.push("javascript");
    }
    if has(&|n| n == "pyproject.toml" || n == "setup.py" || n.ends_with(".py")) {
        tags.push("python");
    }
    if has(&|n| n == "go.mod" || n.ends_with(".go")) {
        tags.push("go");
    }
    tags.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_manifest_gives_its_name_and_version() {
        let rust = cargo("[package]\nname = \"pdf-x\"\nversion = \"1.2.3\"\n").unwrap();
        assert_eq!(rust.unwrap().version.as_deref(), Some("1.2.3"));
        assert_eq!(cargo("[workspace]\nmembers = []\n").unwrap(), None);
        let poetry = python("[tool.poetry]\nname = \"svc\"\nversion = \"0.3\"\n").unwrap();
        assert_eq!(poetry.unwrap().name, "svc");
        let module = go("module github.com/acme/store\n\ngo 1.22\n").unwrap();
        assert_eq!(module.unwrap().name, "github.com/acme/store");
        assert!(node("{ nope").unwrap_err().contains("key must be a string"));
    }
}
