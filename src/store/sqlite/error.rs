//! SQLite's errors in the store's terms: nothing of rusqlite leaves this
//! folder. A lock held past the busy timeout becomes [`StoreError::Busy`]
//! (callers may try again); everything else [`StoreError::Database`], with
//! SQLite's own words.

use super::StoreError;

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        // A row mapper's decoding error (see `in_row`) comes out as itself.
        let error = match error {
            rusqlite::Error::FromSqlConversionFailure(column, kind, source) => {
                match source.downcast::<StoreError>() {
                    Ok(decoding) => return *decoding,
                    Err(source) => rusqlite::Error::FromSqlConversionFailure(column, kind, source),
                }
            }
            other => other,
        };
        let message = error.to_string();
        if super::is_busy(&error) {
            StoreError::Busy { message }
        } else {
            StoreError::Database { message }
        }
    }
}

/// A value of column `column` decoded in a row mapper (which must answer
/// in rusqlite's error type): its [`StoreError::Corrupt`] is carried
/// through rusqlite's conversion error and comes out as itself.
pub(super) fn in_row<T>(column: usize, decoded: crate::store::Result<T>) -> rusqlite::Result<T> {
    decoded.map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}
