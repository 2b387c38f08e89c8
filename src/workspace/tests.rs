use std::path::Path;
use std::process::Command;

use super::{FolderStates, GitError, is_commit_name};

/// Runs git in `dir` with a throw-away identity and no user or system
/// config (the tests never read the real home's).
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn repo_with_commit() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("lib.rs"), "fn a() {}\n").unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    dir
}

#[test]
fn a_clean_repository_gives_its_head_and_a_new_commit_is_seen_at_once() {
    let repo = repo_with_commit();
    let states = FolderStates::new();
    let first = states.read(repo.path());
    assert_eq!(
        first.commit.as_deref(),
        Some(git(repo.path(), &["rev-parse", "HEAD"]).as_str())
    );
    assert_eq!(first.dirty, Some(false));

    std::fs::write(repo.path().join("lib.rs"), "fn b() {}\n").unwrap();
    std::fs::write(repo.path().join("new.rs"), "\n").unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "second"]);
    // No wait: the branch's ref file moved, so the cache does not hold.
    let second = states.read(repo.path());
    assert_eq!(
        second.commit.as_deref(),
        Some(git(repo.path(), &["rev-parse", "HEAD"]).as_str())
    );
    assert_ne!(second.commit, first.commit);

    let changes = states
        .changes(
            repo.path(),
            first.commit.as_deref().unwrap(),
            second.commit.as_deref().unwrap(),
        )
        .unwrap();
    assert_eq!(changes.commits, Some(1));
    assert_eq!(changes.files, ["lib.rs", "new.rs"]);
    assert!(changes.is_stale());
}

#[test]
fn uncommitted_edits_read_fresh_are_dirty() {
    let repo = repo_with_commit();
    let states = FolderStates::new();
    assert_eq!(states.read(repo.path()).dirty, Some(false));
    std::fs::write(repo.path().join("lib.rs"), "fn changed() {}\n").unwrap();
    assert_eq!(states.read_fresh(repo.path()).dirty, Some(true));
}

#[test]
fn a_module_in_a_subfolder_counts_only_its_own_files() {
    let repo = repo_with_commit();
    let module = repo.path().join("module");
    std::fs::create_dir(&module).unwrap();
    std::fs::write(module.join("m.rs"), "\n").unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "module"]);
    let states = FolderStates::new();
    let before = states.read(&module);
    assert_eq!(before.dirty, Some(false));
    // Another part of the repository changes: the module is not stale.
    std::fs::write(repo.path().join("lib.rs"), "fn other() {}\n").unwrap();
    assert_eq!(states.read_fresh(&module).dirty, Some(false));
    git(repo.path(), &["commit", "-q", "-am", "elsewhere"]);
    let after = states.read(&module);
    let changes = states
        .changes(
            &module,
            before.commit.as_deref().unwrap(),
            after.commit.as_deref().unwrap(),
        )
        .unwrap();
    assert_eq!((changes.commits, changes.files_changed), (Some(0), 0));
    assert!(!changes.is_stale());
}

#[test]
fn a_folder_without_git_gives_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let state = FolderStates::new().read(dir.path());
    assert_eq!((state.commit, state.dirty), (None, None));
}

#[test]
fn only_commit_names_reach_git() {
    let repo = repo_with_commit();
    let head = git(repo.path(), &["rev-parse", "HEAD"]);
    assert!(is_commit_name(&head));
    let err = FolderStates::new()
        .changes(repo.path(), "--output=/tmp/x", &head)
        .unwrap_err();
    assert!(
        matches!(err, GitError::BadCommit(ref c) if c == "--output=/tmp/x"),
        "{err}"
    );
}
