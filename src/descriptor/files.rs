//! The registry's files on disk: writing a descriptor so that a good file
//! is never replaced by a half-written or unloadable one, and the cheap
//! state check that lets every process on the same data folder see a change
//! made by another one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Rewritten (with fresh random content) on every register and remove, in
/// the user folder. Reading it is how other processes learn of a change,
/// whatever the file system's timestamp resolution.
pub const GENERATION_FILE: &str = ".generation";

/// What the descriptor folders looked like when they were loaded: the
/// generation file's content and each folder's modification time (a file
/// added, removed or renamed there by hand changes it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourcesState {
    generation: Option<String>,
    folders: Vec<Option<SystemTime>>,
}

impl SourcesState {
    /// Reads the state now: one small read and one `stat` per folder.
    pub fn read(user_dir: &Path, extra_dirs: &[PathBuf]) -> SourcesState {
        let generation = std::fs::read_to_string(user_dir.join(GENERATION_FILE)).ok();
        let folders = std::iter::once(user_dir)
            .chain(extra_dirs.iter().map(PathBuf::as_path))
            .map(|d| std::fs::metadata(d).and_then(|m| m.modified()).ok())
            .collect();
        SourcesState {
            generation,
            folders,
        }
    }
}

/// Tells every process that the user folder changed.
pub fn bump_generation(user_dir: &Path) -> std::io::Result<()> {
    let fresh = uuid::Uuid::new_v4().simple().to_string();
    write_atomically(&user_dir.join(GENERATION_FILE), fresh.as_bytes())
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// whole new one: a temporary file in the same folder (its name ends in
/// `.tmp`, which the loader skips), flushed to disk, renamed over `path`,
/// and the folder flushed so the rename survives a crash.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per write, so two processes registering at once never share one.
    let tmp = dir.join(format!(
        ".{file_name}.{}.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is in the folder's entries: flush those too.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("m.yaml")]);
    }

    #[test]
    fn every_bump_changes_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let before = SourcesState::read(dir.path(), &[]);
        bump_generation(dir.path()).unwrap();
        let once = SourcesState::read(dir.path(), &[]);
        bump_generation(dir.path()).unwrap();
        let twice = SourcesState::read(dir.path(), &[]);
        assert_ne!(before, once);
        assert_ne!(once, twice);
        assert_eq!(twice, SourcesState::read(dir.path(), &[]));
    }
}
