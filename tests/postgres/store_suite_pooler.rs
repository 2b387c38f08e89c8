//! The store suite (tests/store_suite) on PostgreSQL in pooler mode
//! (`[store] pooler = "transaction"`, issue 28): every statement unnamed,
//! its parameters' types taken from the values. Run on a direct
//! connection, it proves every statement of the store works that way; the
//! pooler itself is in `pooler.rs`.

use claude_comms::store::{PgOptions, Store};

use crate::store_suite::Backend;
use crate::store_suite_postgres::Postgres;

pub struct Pooled(Postgres);

impl Backend for Pooled {
    const HOLDS_A_FLEET: bool = true;

    fn create() -> Option<Pooled> {
        Postgres::create().map(Pooled)
    }

    fn open(&self, name: &str) -> Store {
        let url = self.0.database_url(name);
        let options = PgOptions {
            pooler: true,
            ..PgOptions::default()
        };
        Store::open_postgres_with(&url, &options)
            .unwrap_or_else(|e| panic!("{e}\nthe server's log:\n{}", self.0.log_tail()))
    }

    fn damage(&self, name: &str, sql: &str) {
        self.0.damage(name, sql)
    }
}

crate::store_suite::store_suite!(crate::store_suite_pooler::Pooled);
