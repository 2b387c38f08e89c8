//! The newest messages across all conversations, for an operator's view of
//! what is going on (the dashboard's messages pane).

use rusqlite::params;

use super::messages::message_at;
use super::records::MessageActivity;
use super::{Result, SqliteStore, limits};

impl SqliteStore {
    /// The newest `limit` messages of any conversation, newest first.
    pub fn recent_messages(&self, limit: usize) -> Result<Vec<MessageActivity>> {
        limits::check_page("limit", limit)?;
        let columns = super::messages::message_columns_of_m();
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT c.source, c.target, {columns} FROM messages m JOIN conversations c ON c.id = m.conversation_id
                 ORDER BY m.pos DESC LIMIT ?1"
            ))?;
            let rows = statement
                .query_map(params![limit as i64], |row| {
                    Ok(MessageActivity {
                        source: row.get(0)?,
                        target: row.get(1)?,
                        message: message_at(row, 2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}
