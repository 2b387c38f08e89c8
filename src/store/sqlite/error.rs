//! SQLite's errors in the store's terms: nothing of rusqlite leaves this
//! folder. A lock held past the busy timeout becomes [`StoreError::Busy`]
//! (callers may try again); everything else [`StoreError::Database`], with
//! SQLite's own words.

use super::StoreError;

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        let message = error.to_string();
        if super::is_busy(&error) {
            StoreError::Busy { message }
        } else {
            StoreError::Database { message }
        }
    }
}
