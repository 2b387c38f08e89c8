//! Why the database cannot be opened, in words a person can act on.
//!
//! SQLite says only "unable to open database file (code 14)", and the
//! error used to repeat it three times. Here the path and the cause
//! (permission denied on the file or its folder, a folder that cannot be
//! created, a read-only file system) are found out once the open has failed.
//!
//! SQLite also opens a file it cannot write for reading only, without an
//! error; every write then failed with "attempt to write a readonly database
//! (code 8)", naming nothing. [`read_only`] catches that at open.

use std::io::ErrorKind;
use std::path::Path;

/// The reason to give for `path` failing to open with `error`.
pub(super) fn reason(path: &Path, error: &rusqlite::Error) -> String {
    let folder = path.parent().unwrap_or(Path::new("."));
    if let Some(reason) = permission_problem(path, folder) {
        return reason;
    }
    match error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::ReadOnly =>
        {
            read_only_reason(path)
        }
        rusqlite::Error::SqliteFailure(failure, message) => {
            let text = message.clone().unwrap_or_else(|| failure.to_string());
            format!("{text} (SQLite code {})", failure.extended_code)
        }
        other => other.to_string(),
    }
}

/// The reason to give for `path` failing to open (set up or migrate) with
/// an error already in the store's terms (`message`, SQLite's words).
pub(super) fn reason_of_message(path: &Path, message: String) -> String {
    let folder = path.parent().unwrap_or(Path::new("."));
    permission_problem(path, folder).unwrap_or(message)
}

/// Why the database at `path` must not be used through `conn`: SQLite
/// opened it for reading only, while this store writes.
pub(super) fn read_only(path: &Path, conn: &rusqlite::Connection) -> Option<String> {
    conn.is_readonly(rusqlite::MAIN_DB)
        .unwrap_or(false)
        .then(|| read_only_reason(path))
}

fn read_only_reason(path: &Path) -> String {
    let folder = path.parent().unwrap_or(Path::new("."));
    match permission_problem(path, folder) {
        Some(problem) => format!("the database is read-only ({problem})"),
        None => format!(
            "the database is read-only: {} cannot be written (a read-only file system or \
             mount?); claude-comms writes every message there",
            path.display()
        ),
    }
}

/// The reason a folder for the database cannot be created.
pub(super) fn folder_reason(folder: &Path, error: &std::io::Error) -> String {
    match error.kind() {
        ErrorKind::PermissionDenied => format!(
            "permission denied: cannot create the folder {}; make its parent writable or choose \
             another data folder (CLAUDE_COMMS_HOME)",
            folder.display()
        ),
        _ => format!("cannot create the folder {}: {error}", folder.display()),
    }
}

fn permission_problem(path: &Path, folder: &Path) -> Option<String> {
    if path.exists()
        && let Err(e) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
        && e.kind() == ErrorKind::PermissionDenied
    {
        return Some(format!(
            "permission denied: {} is not writable by this user",
            path.display()
        ));
    }
    // SQLite creates the database and its -wal and -shm files beside it.
    let probe = folder.join(format!(".claude-comms-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Some(format!(
            "permission denied: cannot create files in the folder {}; make it writable or choose \
             another data folder (CLAUDE_COMMS_HOME)",
            folder.display()
        )),
        Err(e) if e.kind() == ErrorKind::ReadOnlyFilesystem => Some(format!(
            "the folder {} is on a read-only file system; choose another data folder \
             (CLAUDE_COMMS_HOME)",
            folder.display()
        )),
        Err(_) => None,
    }
}
