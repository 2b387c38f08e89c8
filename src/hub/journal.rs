//! Following an instance's events (`instances monitor`, the dashboard's
//! output pane), whichever process runs it. An instance's events go to a
//! journal file in its process's data dir; every process of the same
//! machine and data dir follows that file. An instance on another node of
//! a fleet has its file on that node: its owner is asked to send the
//! events through the store instead (see `fleet/watch.rs`).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncSeekExt};

use super::HubError;
use crate::instances::InstanceEvent;

/// How often a journal follower looks for new lines.
pub const JOURNAL_POLL: Duration = Duration::from_millis(200);

impl<'h> crate::hub::Instances<'h> {
    /// The last `history` events of any process's instance (its id, its
    /// name, or an id prefix of 8 characters or more), and a follower for
    /// the events after them.
    pub async fn follow_journal(
        self,
        id: &str,
        history: usize,
    ) -> Result<(Vec<InstanceEvent>, JournalFollower), HubError> {
        let dir = self.config().paths.data_dir.join("instances");
        if let Some(found) = read_journal(&dir, id, history).await? {
            return Ok(found);
        }
        // Not a journal here by that id: a name or a prefix, or an
        // instance of another node.
        let row = match self.live_instance_row(id).await {
            Ok(row) => row,
            Err(HubError::NotFound { .. }) => {
                return Err(HubError::BadRequest(format!(
                    "no events for instance \"{id}\" (looked for {}); `claude-comms instances list` shows the ids",
                    crate::instances::journal_path(&dir, id).display()
                )));
            }
            Err(e) => return Err(e),
        };
        if let Some(found) = read_journal(&dir, &row.instance.id, history).await? {
            return Ok(found);
        }
        if !self.node().in_a_fleet() {
            return Err(HubError::BadRequest(format!(
                "no events for instance \"{id}\": its server (pid {}) keeps no journal in {}",
                row.server_pid,
                dir.display()
            )));
        }
        let (recent, remote) = self.arc().follow_on_its_node(&row, history).await?;
        Ok((
            recent,
            JournalFollower {
                source: Source::Fleet(remote),
            },
        ))
    }

    /// The last `history` events of an instance of this machine from its
    /// journal file; none when it keeps none.
    pub(super) async fn recent_local_events(self, id: &str, history: usize) -> Vec<InstanceEvent> {
        let dir = self.config().paths.data_dir.join("instances");
        match read_journal(&dir, id, history).await {
            Ok(Some((recent, _))) => recent,
            _ => Vec::new(),
        }
    }
}

/// The last `history` events of the journal of instance `id` in `dir` and
/// a follower from its end; `None` when there is no such journal.
async fn read_journal(
    dir: &std::path::Path,
    id: &str,
    history: usize,
) -> Result<Option<(Vec<InstanceEvent>, JournalFollower)>, HubError> {
    // An id names a file in `dir` and nothing else: no path in it.
    if id.is_empty() || id.contains(['/', '\\', '\0']) || id.starts_with('.') {
        return Ok(None);
    }
    let path = crate::instances::journal_path(dir, id);
    let Ok(file) = tokio::fs::File::open(&path).await else {
        return Ok(None);
    };
    let mut reader = tokio::io::BufReader::new(file);
    let mut recent = std::collections::VecDeque::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await.map_err(io_error)? == 0 {
            break;
        }
        if let Ok(event) = serde_json::from_str::<InstanceEvent>(&line) {
            if recent.len() == history {
                recent.pop_front();
            }
            if history > 0 {
                recent.push_back(event);
            }
        }
    }
    let follower = JournalFollower {
        source: Source::File { path, reader },
    };
    Ok(Some((recent.into(), follower)))
}

/// Follows an instance's events, whichever process (or node) writes them.
pub struct JournalFollower {
    source: Source,
}

enum Source {
    /// The journal file of an instance on this machine.
    File {
        path: std::path::PathBuf,
        reader: tokio::io::BufReader<tokio::fs::File>,
    },
    /// The events an instance's node publishes while watched.
    Fleet(super::fleet::RemoteEvents),
}

impl JournalFollower {
    /// The next event; waits for one.
    pub async fn next(&mut self) -> Result<InstanceEvent, HubError> {
        match &mut self.source {
            Source::File { path, reader } => next_in_file(path, reader).await,
            Source::Fleet(remote) => remote.next().await,
        }
    }
}

async fn next_in_file(
    path: &std::path::Path,
    reader: &mut tokio::io::BufReader<tokio::fs::File>,
) -> Result<InstanceEvent, HubError> {
    let mut line = String::new();
    loop {
        let before = reader.stream_position().await.map_err(io_error)?;
        line.clear();
        let read = reader.read_line(&mut line).await.map_err(io_error)?;
        if read > 0 && line.ends_with('\n') {
            if let Ok(event) = serde_json::from_str::<InstanceEvent>(&line) {
                return Ok(event);
            }
            continue;
        }
        // A partly written line: read it again when it is complete.
        reader
            .seek(std::io::SeekFrom::Start(before))
            .await
            .map_err(io_error)?;
        let len = tokio::fs::metadata(path)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        if len < before {
            // The journal was started afresh.
            reader
                .seek(std::io::SeekFrom::Start(0))
                .await
                .map_err(io_error)?;
        }
        tokio::time::sleep(JOURNAL_POLL).await;
    }
}

fn io_error(e: std::io::Error) -> HubError {
    HubError::Journal(e.to_string())
}
