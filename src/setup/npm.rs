//! The pinned claude-code-mcp, installed with npm into the data dir
//! (`<data dir>/children`), never globally: `npx` would download it again
//! on a fresh machine, in the middle of the first answer.

use std::path::Path;
use std::time::Duration;

use super::SetupError;
use crate::config::{CHILD_PACKAGE, CHILD_VERSION};

/// An install that takes longer than this is stuck (a registry that does not answer).
const NPM_TIMEOUT: Duration = Duration::from_secs(600);

/// Where the child goes; in config, so doctor (in the hub) finds it too
/// without importing setup.
pub use crate::config::{child_executable, children_dir};

/// The version of the package installed under `data_dir`, if any.
pub fn installed_version(data_dir: &Path) -> Option<String> {
    let manifest = children_dir(data_dir)
        .join("node_modules")
        .join(CHILD_PACKAGE)
        .join("package.json");
    let text = std::fs::read_to_string(manifest).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["version"].as_str().map(str::to_string)
}

/// Whether the pinned version is installed and its executable is there.
pub fn is_installed(data_dir: &Path) -> bool {
    installed_version(data_dir).as_deref() == Some(CHILD_VERSION)
        && child_executable(data_dir).is_file()
}

/// The arguments `setup` gives npm (shown to the user as they are run).
pub fn install_args(data_dir: &Path) -> Vec<String> {
    vec![
        "install".into(),
        "--prefix".into(),
        children_dir(data_dir).display().to_string(),
        "--save-exact".into(),
        "--no-audit".into(),
        "--no-fund".into(),
        "--loglevel=error".into(),
        format!("{CHILD_PACKAGE}@{CHILD_VERSION}"),
    ]
}

/// Runs `npm install` as a program (no shell), its output captured so that
/// our own stdout stays the report; a failure quotes what npm said.
pub async fn install(npm: &Path, data_dir: &Path) -> Result<(), SetupError> {
    let dir = children_dir(data_dir);
    let io = |e: std::io::Error| SetupError::Write {
        file: dir.display().to_string(),
        source: e,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    // A package.json of our own keeps npm from looking for one in a parent folder.
    let manifest = dir.join("package.json");
    if !manifest.exists() {
        let text = "{\n  \"name\": \"claude-comms-children\",\n  \"private\": true,\n  \"description\": \"The claude-code-mcp child of claude-comms, installed by `claude-comms setup`\"\n}\n";
        std::fs::write(&manifest, text).map_err(io)?;
    }
    let args = install_args(data_dir);
    let run = tokio::process::Command::new(npm)
        .args(&args)
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let command = format!("{} {}", npm.display(), args.join(" "));
    let out = match tokio::time::timeout(NPM_TIMEOUT, run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(SetupError::Npm {
                command,
                message: format!("cannot run: {e}"),
            });
        }
        Err(_) => {
            return Err(SetupError::Npm {
                command,
                message: format!("no result within {}s", NPM_TIMEOUT.as_secs()),
            });
        }
    };
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.trim();
        let said = if said.is_empty() {
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        } else {
            said.to_string()
        };
        return Err(SetupError::Npm {
            command,
            message: format!("{}: {said}", out.status),
        });
    }
    if !is_installed(data_dir) {
        return Err(SetupError::Npm {
            command,
            message: format!(
                "npm succeeded but {} (version {CHILD_VERSION}) is not there",
                child_executable(data_dir).display()
            ),
        });
    }
    Ok(())
}
