//! Writes `[instances.claude_code_mcp]` `command`/`args` into the user's
//! config file and leaves everything else as it was: other keys, their
//! order, comments and blank lines (a `toml` round trip would drop them).

use std::path::Path;

use toml_edit::{Array, DocumentMut, Item, Table, TableLike, Value};

use super::SetupError;

/// The config text with the child command set to `command` and `args`, or
/// `None` when the file already says exactly that.
pub fn with_child_command(
    file: &Path,
    text: &str,
    command: &str,
    args: &[&str],
) -> Result<Option<String>, SetupError> {
    let invalid = |message: String| SetupError::Config {
        file: file.display().to_string(),
        message,
    };
    let mut doc: DocumentMut = text.parse().map_err(|e| invalid(format!("{e}")))?;
    let instances = doc.entry("instances").or_insert_with(|| {
        // No `[instances]` header of its own: only the sub-table appears.
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    let instances = instances
        .as_table_like_mut()
        .ok_or_else(|| invalid("`instances` is not a table".into()))?;
    let child = instances
        .entry("claude_code_mcp")
        .or_insert(Item::Table(Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| invalid("`instances.claude_code_mcp` is not a table".into()))?;

    let mut new_args = Array::new();
    for arg in args {
        new_args.push(*arg);
    }
    let same_command = child.get("command").and_then(Item::as_str) == Some(command);
    let same_args = child.get("args").and_then(Item::as_array).is_some_and(|a| {
        a.iter()
            .map(Value::as_str)
            .eq(args.iter().map(|a| Some(*a)))
    });
    if same_command && same_args {
        return Ok(None);
    }
    set_keeping_comments(child, "command", Value::from(command));
    set_keeping_comments(child, "args", Value::Array(new_args));
    Ok(Some(doc.to_string()))
}

/// Replaces a value in place: the comment above its key (which `insert`
/// would drop with the key) and the one after the old value stay.
fn set_keeping_comments(table: &mut dyn TableLike, key: &str, mut value: Value) {
    match table.get_mut(key) {
        Some(item) => {
            if let Some(old) = item.as_value() {
                *value.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(value);
        }
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// Writes `text` to `file` through a temporary file in the same folder, so a
/// crash leaves the old config or the new one, never half of one; keeps the
/// old file's permissions (a config may hold tokens and be private).
pub fn write_atomically(file: &Path, text: &str) -> Result<(), SetupError> {
    let failed = |e: std::io::Error| SetupError::Write {
        file: file.display().to_string(),
        source: e,
    };
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut temp = file.as_os_str().to_owned();
    temp.push(".setup-tmp");
    let temp = std::path::PathBuf::from(temp);
    std::fs::write(&temp, text).map_err(failed)?;
    if let Ok(old) = std::fs::metadata(file) {
        std::fs::set_permissions(&temp, old.permissions()).map_err(failed)?;
    }
    std::fs::rename(&temp, file).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        failed(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> Option<String> {
        with_child_command(
            Path::new("config.toml"),
            text,
            "/d/bin/claude-code-mcp",
            &[],
        )
        .unwrap()
    }

    #[test]
    fn an_empty_file_gets_only_the_child_table() {
        let text = set("").unwrap();
        assert_eq!(
            text,
            "[instances.claude_code_mcp]\ncommand = \"/d/bin/claude-code-mcp\"\nargs = []\n"
        );
    }

    #[test]
    fn other_settings_and_comments_stay_as_they_were() {
        let before = "# my settings\nlog_level = \"debug\" # loud\n\n[instances]\nbackend = \"claude-stream\"\n\n[instances.claude_code_mcp]\n# pinned by hand\ncommand = \"npx\" # downloads\nargs = [\"-y\", \"@steipete/claude-code-mcp@1.10.12\"]\npool_max = 3\n\n[context]\nhop_limit = 2\n";
        let after = set(before).unwrap();
        assert_eq!(
            after,
            "# my settings\nlog_level = \"debug\" # loud\n\n[instances]\nbackend = \"claude-stream\"\n\n[instances.claude_code_mcp]\n# pinned by hand\ncommand = \"/d/bin/claude-code-mcp\" # downloads\nargs = []\npool_max = 3\n\n[context]\nhop_limit = 2\n"
        );
        assert_eq!(set(&after), None, "a second run changes nothing");
    }

    #[test]
    fn dotted_and_inline_forms_are_edited_in_place() {
        let after =
            set("instances.claude_code_mcp = { command = \"npx\", pool_max = 1 }\n").unwrap();
        let parsed: toml::Table = toml::from_str(&after).unwrap();
        let child = &parsed["instances"]["claude_code_mcp"];
        assert_eq!(child["command"].as_str(), Some("/d/bin/claude-code-mcp"));
        assert_eq!(child["pool_max"].as_integer(), Some(1));
        assert!(child["args"].as_array().unwrap().is_empty());
    }

    #[test]
    fn a_file_that_is_not_toml_or_has_the_wrong_shape_is_named() {
        let err = with_child_command(Path::new("/x/config.toml"), "instances = 3\n", "c", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("/x/config.toml"), "{err}");
        assert!(err.contains("`instances` is not a table"), "{err}");
        let err = with_child_command(Path::new("/x/config.toml"), "[[[", "c", &[])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("config file /x/config.toml:"), "{err}");
    }
}
