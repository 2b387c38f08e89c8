//! The store suite (tests/store_suite) on SQLite: each case's databases
//! are files in a temp folder of its own.

use std::path::PathBuf;

use claude_comms::store::Store;

use crate::store_suite::Backend;

pub struct Sqlite {
    dir: tempfile::TempDir,
}

impl Backend for Sqlite {
    const HOLDS_A_FLEET: bool = false;

    fn create() -> Option<Sqlite> {
        Some(Sqlite {
            dir: tempfile::tempdir().expect("a temp dir"),
        })
    }

    fn open(&self, name: &str) -> Store {
        let path: PathBuf = self.dir.path().join(format!("{name}.db"));
        Store::open(&path).expect("the SQLite store opens")
    }

    fn damage(&self, name: &str, sql: &str) {
        let path: PathBuf = self.dir.path().join(format!("{name}.db"));
        rusqlite::Connection::open(path)
            .and_then(|c| c.execute_batch(sql))
            .expect("the damage is done");
    }
}

crate::store_suite::store_suite!(crate::store_suite_sqlite::Sqlite);
