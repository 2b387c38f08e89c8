//! Folder states cached per folder. A cached state is kept while the files
//! git changes on a commit, a checkout or a `git add` (HEAD, the branch's
//! ref file, packed-refs, the index) are unchanged, and for at most
//! [`RECHECK_AFTER`]: editing a tracked file touches none of them, so
//! dirtiness is read again that often (or at once, with `read_fresh`).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Changes, FolderState, GitError, git};

/// Longest time a cached state is trusted when git's files are unchanged.
pub const RECHECK_AFTER: Duration = Duration::from_secs(2);

/// Changes between two commits never change; this many are kept.
const MAX_KEPT_CHANGES: usize = 512;

/// Where a folder's repository keeps what a commit or checkout rewrites.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    /// The folder's git dir (a worktree's own one for a linked worktree).
    git_dir: PathBuf,
    /// Where refs and packed-refs live (the main git dir of a worktree).
    common_dir: PathBuf,
}

/// The identity of each watched file: (modified, length, inode), or None.
type Stamp = Vec<Option<(std::time::SystemTime, u64, u64)>>;

impl Layout {
    /// Finds the repository holding `folder`, looking upwards as git does.
    fn discover(folder: &Path) -> Option<Layout> {
        folder.ancestors().find_map(|dir| {
            let dot_git = dir.join(".git");
            let meta = std::fs::metadata(&dot_git).ok()?;
            let git_dir = if meta.is_dir() {
                dot_git
            } else {
                // A linked worktree or a submodule: "gitdir: PATH".
                let text = std::fs::read_to_string(&dot_git).ok()?;
                dir.join(text.strip_prefix("gitdir:")?.trim())
            };
            let common_dir = std::fs::read_to_string(git_dir.join("commondir"))
                .map(|c| git_dir.join(c.trim()))
                .unwrap_or_else(|_| git_dir.clone());
            Some(Layout {
                git_dir,
                common_dir,
            })
        })
    }

    fn stamp(&self) -> Stamp {
        let identity = |path: &Path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len(), meta.ino()))
        };
        let head = self.git_dir.join("HEAD");
        let mut stamp = vec![
            identity(&head),
            identity(&self.git_dir.join("index")),
            identity(&self.common_dir.join("packed-refs")),
        ];
        // HEAD usually names a branch: its ref file moves on a commit.
        if let Ok(text) = std::fs::read_to_string(&head)
            && let Some(name) = text.strip_prefix("ref:")
        {
            stamp.push(identity(&self.common_dir.join(name.trim())));
        }
        stamp
    }
}

#[derive(Debug, Clone)]
struct Entry {
    layout: Option<Layout>,
    stamp: Stamp,
    state: FolderState,
    read_at: Instant,
}

/// The cache of folder states and of changes between commits.
#[derive(Debug, Default)]
pub struct FolderStates {
    entries: Mutex<HashMap<PathBuf, Entry>>,
    changes: Mutex<HashMap<(PathBuf, String, String), Changes>>,
}

impl FolderStates {
    pub fn new() -> FolderStates {
        FolderStates::default()
    }

    /// The folder's state, from the cache while it holds (see the module
    /// docs). Blocking: runs git when the cache does not hold.
    pub fn read(&self, folder: &Path) -> FolderState {
        self.read_with(folder, false)
    }

    /// The folder's state when the cache holds it (read recently, and git's
    /// files unchanged since): a few `stat`s, no git, so callers on async
    /// threads may ask before handing [`FolderStates::read`] to a blocking
    /// thread.
    pub fn cached(&self, folder: &Path) -> Option<FolderState> {
        let known = self.lock_entries().get(folder).cloned()?;
        if Instant::now().duration_since(known.read_at) >= RECHECK_AFTER {
            return None;
        }
        let stamp = known.layout.as_ref().map(Layout::stamp).unwrap_or_default();
        (stamp == known.stamp).then_some(known.state)
    }

    /// The folder's state read now (for decisions that must not trust a
    /// cached "clean", such as reusing an answer).
    pub fn read_fresh(&self, folder: &Path) -> FolderState {
        self.read_with(folder, true)
    }

    fn read_with(&self, folder: &Path, fresh: bool) -> FolderState {
        let now = Instant::now();
        let known = self.lock_entries().get(folder).cloned();
        let recent = known
            .as_ref()
            .is_some_and(|e| now.duration_since(e.read_at) < RECHECK_AFTER);
        let layout = match &known {
            Some(e) if recent || e.layout.is_some() => e.layout.clone(),
            _ => Layout::discover(folder),
        };
        // Taken before git runs: a change meanwhile is seen next time.
        let stamp = layout.as_ref().map(Layout::stamp).unwrap_or_default();
        if let Some(e) = &known
            && !fresh
            && recent
            && e.layout == layout
            && e.stamp == stamp
        {
            return e.state.clone();
        }
        let state = match &layout {
            None => FolderState::default(),
            Some(_) => git::read_state(folder).unwrap_or_else(|e| {
                tracing::debug!(folder = %folder.display(), error = %e, "no git state for this folder");
                FolderState::default()
            }),
        };
        self.lock_entries().insert(
            folder.to_path_buf(),
            Entry {
                layout,
                stamp,
                state: state.clone(),
                read_at: now,
            },
        );
        state
    }

    /// What changed in `folder` between two commits (cached: commits never
    /// change). Blocking: runs git on a miss.
    pub fn changes(&self, folder: &Path, from: &str, to: &str) -> Result<Changes, GitError> {
        let key = (folder.to_path_buf(), from.to_string(), to.to_string());
        if let Some(known) = self.lock_changes().get(&key) {
            return Ok(known.clone());
        }
        let changes = git::changes(folder, from, to)?;
        let mut kept = self.lock_changes();
        if kept.len() >= MAX_KEPT_CHANGES {
            kept.clear();
        }
        kept.insert(key, changes.clone());
        Ok(changes)
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Entry>> {
        // A panic elsewhere cannot leave a half-written entry: use it anyway.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_changes(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(PathBuf, String, String), Changes>> {
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
    }
}
