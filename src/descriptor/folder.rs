//! The folder a module's agent works in: how a descriptor's `path` (or the
//! config's `module_paths`) becomes a folder, and which folders are refused
//! or warned about.
//!
//! Who wrote the text decides how much of it is expanded:
//! * the operator (the config file, the shipped descriptors, the extra
//!   descriptor folders the config names): `~` and `$VAR`/`${VAR}`;
//! * `register` (the user folder, where any MCP client may write): `~` only.
//!   `$VAR` there would let a client read the server's environment back
//!   through `describe_module` or an error (`path: /x/${ANTHROPIC_API_KEY}`).
//!
//! A relative path is relative to the folder of the file that holds it,
//! never to wherever the host happened to start the server.

use std::path::{Component, Path, PathBuf};

/// Whose text a path is, and so how much of it is expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathTrust {
    /// The operator's own files: `~` and `$VAR` expanded.
    Operator,
    /// Registered descriptors (possibly by an MCP client): `~` only.
    Registered,
}

/// Turns `raw` into a folder. `base` is the folder of the file the text is
/// in; without one a relative path is an error. Errors quote `raw` as
/// written, never an expanded value.
pub fn resolve(raw: &str, trust: PathTrust, base: Option<&Path>) -> Result<PathBuf, String> {
    let expanded = match trust {
        PathTrust::Operator => crate::expand::expand_path(raw)?,
        PathTrust::Registered if raw.contains('$') => {
            return Err(format!(
                "\"{raw}\" uses `$`, which is expanded only in the operator's own files (the config and its descriptor_dirs), not in registered descriptors; write the folder out, or set module_paths in the config"
            ));
        }
        PathTrust::Registered => crate::expand::expand_home(raw)?,
    };
    if expanded.is_absolute() {
        return Ok(normalise(&expanded));
    }
    match base {
        Some(base) => Ok(normalise(&base.join(expanded))),
        None => Err(format!(
            "\"{raw}\" is a relative path and there is no file folder to resolve it against; give an absolute path"
        )),
    }
}

/// The checks on a `path` a client registers over MCP: it must be absolute
/// (or start with `~/`), must not use `$`, and must not be the root, a
/// system folder or the home folder itself.
pub fn check_client_path(raw: &str) -> Result<(), String> {
    if !(raw.starts_with('/') || raw == "~" || raw.starts_with("~/")) {
        return Err(format!(
            "\"{raw}\" is relative; a descriptor registered over MCP must give an absolute folder (or one under ~/)"
        ));
    }
    let folder = resolve(raw, PathTrust::Registered, None)?;
    match unsafe_folder(&folder) {
        Some(why) => Err(format!(
            "\"{raw}\" is {why}; an agent working there could read and change far more than one module's code, so it is refused over MCP"
        )),
        None => Ok(()),
    }
}

/// Why `folder` is a dangerous place for a module's agent to work (the root,
/// a system folder, the home folder itself), or `None` if it is not.
pub fn unsafe_folder(folder: &Path) -> Option<&'static str> {
    let mut candidates = vec![normalise(folder)];
    // A symlink may lead somewhere else (`/bin` is `/usr/bin` on many systems).
    if let Ok(real) = folder.canonicalize() {
        candidates.push(real);
    }
    let home = crate::expand::home_dir().map(|h| normalise(&h));
    for path in candidates {
        if path == Path::new("/") {
            return Some("the root folder");
        }
        if home.as_deref() == Some(path.as_path()) {
            return Some("the home folder itself");
        }
        if SYSTEM_FOLDERS.iter().any(|s| path == Path::new(s))
            || SYSTEM_TREES.iter().any(|s| path.starts_with(s))
        {
            return Some("a system folder");
        }
    }
    None
}

/// Folders that hold a whole system's (or every user's) files; a module's
/// code lives below them, never in them.
const SYSTEM_FOLDERS: &[&str] = &[
    "/home",
    "/root",
    "/Users",
    "/usr",
    "/usr/local",
    "/usr/share",
    "/var",
    "/var/lib",
    "/opt",
    "/srv",
    "/tmp",
    "/run",
    "/mnt",
    "/media",
    "/Applications",
    "/Library",
    "/private",
    "/private/var",
    "/Volumes",
];

/// Trees that never hold a module's code: nothing under them is a fit folder.
const SYSTEM_TREES: &[&str] = &[
    "/etc",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/boot",
    "/dev",
    "/proc",
    "/sys",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/libexec",
    "/usr/include",
    "/var/log",
    "/System",
    "/private/etc",
];

/// Removes `.`, resolves `..` lexically and drops trailing slashes, so that
/// `/etc/../` is seen as `/`.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_paths_do_not_expand_variables_and_do_not_echo_them() {
        // PATH is always set in a test run; its value must not appear.
        let path_value = std::env::var("PATH").unwrap();
        let err = resolve("/x/${PATH}", PathTrust::Registered, None).unwrap_err();
        assert!(
            err.contains("${PATH}") && !err.contains(&path_value),
            "{err}"
        );
        assert!(resolve("/x/$PATH", PathTrust::Operator, None).is_ok());
    }

    #[test]
    fn relative_paths_resolve_against_the_files_folder() {
        let base = Path::new("/data/descriptors");
        assert_eq!(
            resolve("../code/marker", PathTrust::Registered, Some(base)).unwrap(),
            PathBuf::from("/data/code/marker")
        );
        assert_eq!(
            resolve(".", PathTrust::Operator, Some(base)).unwrap(),
            PathBuf::from("/data/descriptors")
        );
        assert!(resolve("code", PathTrust::Operator, None).is_err());
    }

    #[test]
    fn root_system_and_home_folders_are_unsafe() {
        for p in [
            "/",
            "/etc",
            "/etc/nginx",
            "/usr",
            "/bin/",
            "/etc/../",
            "/proc/1",
        ] {
            assert!(unsafe_folder(Path::new(p)).is_some(), "{p}");
        }
        if let Some(home) = crate::expand::home_dir() {
            assert_eq!(unsafe_folder(&home), Some("the home folder itself"));
        }
        for p in ["/srv/code/marker", "/tmp/summarizer", "/home/me/src/marker"] {
            assert_eq!(unsafe_folder(Path::new(p)), None, "{p}");
        }
    }

    #[test]
    fn client_paths_must_be_absolute_literal_and_safe() {
        assert!(check_client_path("/srv/marker").is_ok());
        assert!(check_client_path("~/src/marker").is_ok());
        for bad in ["marker", "./marker", "/x/$HOME", "/", "/etc", "~"] {
            assert!(check_client_path(bad).is_err(), "{bad}");
        }
    }
}
