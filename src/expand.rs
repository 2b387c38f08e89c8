//! `~` and environment-variable expansion for paths written by the operator
//! in the config file and in their own descriptor folders. `$VAR` is never
//! expanded in text a client sent (descriptors registered over MCP), since
//! that would read the server's environment out to it (see
//! `descriptor::folder`).

use std::path::PathBuf;

/// Expands a leading `~` (the home folder) and every `$VAR` / `${VAR}`.
/// An unset variable is an error that names it, rather than a silent empty
/// string that would point the agent at the wrong folder.
pub fn expand_path(raw: &str) -> Result<PathBuf, String> {
    expand_home_in(raw, expand_vars(raw)?)
}

/// Expands only a leading `~`: the home folder is no secret (it shows in
/// every file path under it), unlike the rest of the environment.
pub fn expand_home(raw: &str) -> Result<PathBuf, String> {
    expand_home_in(raw, raw.to_string())
}

fn expand_home_in(raw: &str, mut text: String) -> Result<PathBuf, String> {
    if text == "~" || text.starts_with("~/") {
        let home = home_dir()
            .ok_or_else(|| format!("cannot expand \"~\" in \"{raw}\": HOME is not set"))?;
        text = format!("{}{}", home.display(), &text[1..]);
    }
    Ok(PathBuf::from(text))
}

/// `$HOME`, if set.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

fn expand_vars(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| format!("unclosed \"${{\" in \"{raw}\""))?;
            (&braced[..end], end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            // A lone `$` is kept as written.
            out.push('$');
            rest = after;
            continue;
        }
        let value = std::env::var(name)
            .map_err(|_| format!("environment variable {name} used in \"{raw}\" is not set"))?;
        out.push_str(&value);
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_home_and_variables() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            expand_path("~/x").unwrap(),
            PathBuf::from(format!("{home}/x"))
        );
        assert_eq!(
            expand_path("${HOME}/a/$HOME").unwrap(),
            PathBuf::from(format!("{home}/a/{home}"))
        );
        assert_eq!(
            expand_path("/plain/path").unwrap(),
            PathBuf::from("/plain/path")
        );
        assert_eq!(expand_path("/cost/$").unwrap(), PathBuf::from("/cost/$"));
    }

    #[test]
    fn home_only_expansion_leaves_variables_alone() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            expand_home("~/x/$HOME").unwrap(),
            PathBuf::from(format!("{home}/x/$HOME"))
        );
    }

    #[test]
    fn unset_variable_is_named() {
        let err = expand_path("$CLAUDE_COMMS_SURELY_UNSET_VAR/x").unwrap_err();
        assert!(err.contains("CLAUDE_COMMS_SURELY_UNSET_VAR"), "{err}");
    }
}
