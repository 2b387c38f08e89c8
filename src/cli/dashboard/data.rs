//! What the dashboard shows, read through the hub once per tick: the
//! instances of every process on this data dir (with the memory of each
//! child's process tree) and the newest messages.

use crate::hub::{Hub, InstanceRow, MessageActivity};

/// Newest messages kept for the messages pane.
pub const RECENT_MESSAGES: usize = 100;

/// One instance row and the resident memory of its child's process tree.
#[derive(Debug, Clone)]
pub struct InstanceView {
    pub row: InstanceRow,
    /// None when the child runs elsewhere or has no live process.
    pub rss_bytes: Option<u64>,
}

/// Everything one refresh read.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub instances: Vec<InstanceView>,
    /// Newest first.
    pub messages: Vec<MessageActivity>,
    /// When it was read (unix ms).
    pub taken_ms: i64,
    /// Permission settings to warn about (a module with `full`, say).
    pub warnings: Vec<String>,
}

impl Snapshot {
    pub async fn read(hub: &Hub) -> Result<Snapshot, crate::hub::HubError> {
        let here = crate::hub::this_hostname();
        let instances = hub
            .all_instances()
            .await?
            .into_iter()
            .map(|row| {
                let rss_bytes = match (row.hostname == here, row.instance.pid) {
                    (true, Some(pid)) => tree_rss_bytes(pid),
                    _ => None,
                };
                InstanceView { row, rss_bytes }
            })
            .collect();
        Ok(Snapshot {
            instances,
            messages: hub.recent_messages(RECENT_MESSAGES).await?,
            taken_ms: crate::time::now_ms(),
            warnings: hub.policy_warnings(),
        })
    }
}

/// Resident memory of `pid` and all its descendants (Linux `/proc`; None
/// elsewhere or when the process is gone). A child is a process group of
/// node, claude and their helpers, so the tree is what the operator pays.
pub fn tree_rss_bytes(pid: u32) -> Option<u64> {
    let own = rss_of(pid)?;
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if let Some(parent) = parent_of(child) {
            parents.push((child, parent));
        }
    }
    let mut total = own;
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, parent) in &parents {
            if parent == p && child != pid {
                total += rss_of(child).unwrap_or(0);
                frontier.push(child);
            }
        }
    }
    Some(total)
}

/// `VmRSS` of one process, in bytes.
fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The parent pid from `/proc/PID/stat` (the field after the `(comm)`,
/// which may itself hold spaces and parentheses).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_child_is_found_under_its_parent_and_counted() {
        if !std::path::Path::new("/proc/self/status").exists() {
            return;
        }
        let me = std::process::id();
        assert!(super::tree_rss_bytes(me).unwrap() > 0);
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        assert_eq!(super::parent_of(child.id()), Some(me));
        let own = super::rss_of(child.id()).unwrap_or(0);
        let tree = super::tree_rss_bytes(child.id()).unwrap_or(0);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(tree >= own, "{tree} < {own}");
        assert_eq!(super::tree_rss_bytes(child.id()), None, "gone once reaped");
    }
}
