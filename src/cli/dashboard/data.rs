//! What the dashboard shows, read through the hub once per tick: the
//! instances of every process on this data dir (with the memory of each
//! child's process tree), the newest messages, and which of their queries
//! wait for the asker's answer to a question of their agent (issue 29).

use std::collections::HashSet;

use crate::hub::{Hub, InstanceRow, MessageActivity, MessageStatus, Role};

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
    /// Ids of the shown pending queries whose agent asked back and waits
    /// for the asker's answer (`jobs answer`).
    pub waiting: HashSet<String>,
}

impl Snapshot {
    pub async fn read(hub: &Hub) -> Result<Snapshot, crate::hub::HubError> {
        // The owning process measures its children's process groups and
        // reports them with its heartbeat: the same figure `instances list`
        // and `daemon status` show.
        let instances = hub
            .instances()
            .all()
            .await?
            .into_iter()
            .map(|row| InstanceView {
                rss_bytes: row.instance.rss_kib.map(|k| k * 1024),
                row,
            })
            .collect();
        let messages = hub.conversations().recent_messages(RECENT_MESSAGES).await?;
        let mut waiting = HashSet::new();
        for a in &messages {
            let m = &a.message;
            if m.role == Role::Query
                && m.status == MessageStatus::Pending
                && hub.messaging().input_request(&m.id).await?.is_some()
            {
                waiting.insert(m.id.clone());
            }
        }
        Ok(Snapshot {
            instances,
            messages,
            taken_ms: crate::time::now_ms(),
            warnings: hub.maintenance().policy_warnings(),
            waiting,
        })
    }
}
