//! `modules init`: a first descriptor for a module folder, read from what is
//! there. The name and version come from the first manifest found
//! (`Cargo.toml`, `package.json`, `pyproject.toml`, `go.mod`), the
//! description from the README's first paragraph (else the manifest's
//! description), the tags from the languages whose files are there. What
//! could not be found is said in `notes`, so the user knows what to edit.
//! Capabilities, data types and relationships are the user's to add: they
//! cannot be read off the files.

mod manifests;
pub mod proposal;
mod readme;

use std::path::Path;

use super::model::ModuleDescriptor;

/// A descriptor drafted from a folder, with what the user should know.
#[derive(Debug, Clone, PartialEq)]
pub struct Drafted {
    pub descriptor: ModuleDescriptor,
    /// The manifest the name and version came from, if any.
    pub manifest: Option<&'static str>,
    pub notes: Vec<String>,
}

/// Reads `folder` (absolute). Errors name the folder and the problem.
pub fn draft_from_folder(folder: &Path, name: Option<&str>) -> Result<Drafted, String> {
    let shown = folder.display();
    let entries = std::fs::read_dir(folder).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    if entries.count() == 0 {
        return Err(format!(
            "{shown} is empty: there is nothing to describe (write a descriptor by hand, see `claude-comms modules schema`)"
        ));
    }
    let mut notes = Vec::new();
    let found = manifests::read(folder)?;
    let manifest = found.as_ref().map(|m| m.file);
    let folder_name = folder
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let raw_name = match (name, &found) {
        (Some(given), _) => given.to_string(),
        (None, Some(m)) => m.name.clone(),
        (None, None) => {
            notes.push(format!(
                "no Cargo.toml, package.json, pyproject.toml or go.mod: the name is the folder's ({folder_name})"
            ));
            folder_name.clone()
        }
    };
    let module_name = module_name(&raw_name).ok_or_else(|| {
        format!(
            "{shown}: \"{raw_name}\" cannot be made a module name (lowercase letters, digits, - and _); give one with --name"
        )
    })?;
    if name.is_none() && module_name != raw_name {
        notes.push(format!("name \"{raw_name}\" written as \"{module_name}\""));
    }
    let version = match found.as_ref().and_then(|m| m.version.clone()) {
        Some(v) => v,
        None => {
            notes.push("no version found: 0.0.0 written".into());
            "0.0.0".into()
        }
    };
    let description = match readme::first_paragraph(folder) {
        Some(text) => text,
        None => match found.as_ref().and_then(|m| m.description.clone()) {
            Some(text) => {
                notes.push(format!(
                    "no README paragraph: the description is {}'s",
                    manifest.unwrap_or("the manifest")
                ));
                text
            }
            None => {
                notes.push("no README and no description in a manifest: write one".into());
                format!("The {module_name} module.")
            }
        },
    };
    notes.push(
        "capabilities, data_types and relationships are empty: add what the module offers and whom it talks to".into(),
    );
    Ok(Drafted {
        descriptor: ModuleDescriptor {
            name: module_name,
            version,
            description,
            path: Some(folder.display().to_string()),
            capabilities: Vec::new(),
            data_types: Vec::new(),
            relationships: Vec::new(),
            tags: manifests::languages(folder),
            context: String::new(),
            a2a: None,
        },
        manifest,
        notes,
    })
}

/// `raw` as a module name: lowercase, a scope (`@org/`) or path
/// (`github.com/org/`) dropped, other characters made `-`, at most 64.
fn module_name(raw: &str) -> Option<String> {
    let last = raw.rsplit('/').next().unwrap_or(raw);
    let mut name: String = last
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    name.truncate(64);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_module_names() {
        assert_eq!(module_name("@acme/PDF Tools").as_deref(), Some("pdf-tools"));
        assert_eq!(
            module_name("github.com/acme/graph-store").as_deref(),
            Some("graph-store")
        );
        assert_eq!(module_name("_x.y").as_deref(), Some("x-y"));
        assert_eq!(module_name("@@@"), None);
    }
}
