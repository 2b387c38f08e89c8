//! Running `git` for one question about a folder: always `git -C FOLDER`
//! with fixed arguments, never a shell, with the variables that would
//! point git at another repository removed.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{Changes, FolderState, MAX_CHANGED_FILES, is_commit_name};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git could not be run in {folder}: {source}")]
    Spawn {
        folder: String,
        source: std::io::Error,
    },
    #[error("git {command} failed in {folder}: {stderr}")]
    Failed {
        command: String,
        folder: String,
        stderr: String,
    },
    #[error("\"{0}\" is not a commit name (40 or 64 hex digits)")]
    BadCommit(String),
}

/// Runs `git -C folder args...` and returns its stdout.
fn git(folder: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(args)
        // The environment of a hook or of another tool must not redirect us.
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        // `status` would otherwise refresh (write) the index, which changes
        // the very stamp the cache watches.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| GitError::Spawn {
            folder: folder.display().to_string(),
            source,
        })?;
    if !output.status.success() {
        return Err(GitError::Failed {
            command: args.first().copied().unwrap_or("").to_string(),
            folder: folder.display().to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(output.stdout)
}

/// The commit of HEAD, `None` when the repository has no commit yet.
pub(super) fn head_commit(folder: &Path) -> Result<Option<String>, GitError> {
    match git(folder, &["rev-parse", "--verify", "--quiet", "HEAD"]) {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out).trim().to_string();
            Ok(is_commit_name(&text).then_some(text))
        }
        // `--verify --quiet` fails silently when HEAD names no commit.
        Err(GitError::Failed { stderr, .. }) if stderr.is_empty() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the folder has uncommitted changes (staged, unstaged, untracked).
pub(super) fn is_dirty(folder: &Path) -> Result<bool, GitError> {
    let out = git(
        folder,
        &["status", "--porcelain", "-z", "--no-renames", "--", "."],
    )?;
    Ok(!out.is_empty())
}

/// Both, read now.
pub(super) fn read_state(folder: &Path) -> Result<FolderState, GitError> {
    Ok(FolderState {
        commit: head_commit(folder)?,
        dirty: Some(is_dirty(folder)?),
    })
}

/// What changed inside `folder` from commit `from` to commit `to`.
pub(super) fn changes(folder: &Path, from: &str, to: &str) -> Result<Changes, GitError> {
    for commit in [from, to] {
        if !is_commit_name(commit) {
            return Err(GitError::BadCommit(commit.to_string()));
        }
    }
    let range = format!("{from}..{to}");
    let commits = match git(folder, &["rev-list", "--count", &range, "--", "."]) {
        Ok(out) => String::from_utf8_lossy(&out).trim().parse().ok(),
        // `from` is gone (rewritten history): stale, count unknown.
        Err(GitError::Failed { .. }) => None,
        Err(e) => return Err(e),
    };
    let (files, files_changed) = if commits.is_some() {
        let out = git(
            folder,
            &[
                "diff",
                "--name-only",
                "-z",
                "--relative",
                from,
                to,
                "--",
                ".",
            ],
        )?;
        let names: Vec<String> = out
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect();
        let count = names.len();
        (names.into_iter().take(MAX_CHANGED_FILES).collect(), count)
    } else {
        (Vec::new(), 0)
    };
    Ok(Changes {
        from: from.to_string(),
        to: to.to_string(),
        commits,
        files,
        files_changed,
    })
}
