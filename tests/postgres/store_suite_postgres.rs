//! The store suite (tests/store_suite) on PostgreSQL: each case has a
//! throw-away cluster of its own (a copy of the template: about 0.3 s),
//! and its databases are created in it on first use.

use std::collections::BTreeSet;
use std::sync::Mutex;

use claude_comms::store::Store;

use crate::pg_cluster::PgCluster;
use crate::store_suite::Backend;

pub struct Postgres {
    cluster: PgCluster,
    created: Mutex<BTreeSet<String>>,
}

impl Backend for Postgres {
    const HOLDS_A_FLEET: bool = true;

    fn create() -> Option<Postgres> {
        Some(Postgres {
            cluster: PgCluster::start()?,
            created: Mutex::default(),
        })
    }

    fn open(&self, name: &str) -> Store {
        let url = self.database_url(name);
        Store::open_postgres(&url)
            .unwrap_or_else(|e| panic!("{e}\nthe server's log:\n{}", self.cluster.log_tail()))
    }

    fn damage(&self, name: &str, sql: &str) {
        self.database_url(name);
        self.cluster.sql(name, sql).expect("the damage is done");
    }
}

impl Postgres {
    /// The URL of the database `name`, created on first use.
    pub fn database_url(&self, name: &str) -> String {
        let first_use = self.created.lock().unwrap().insert(name.to_string());
        if first_use {
            self.cluster.create_database(name)
        } else {
            self.cluster.url(name)
        }
    }

    pub fn log_tail(&self) -> String {
        self.cluster.log_tail()
    }
}

crate::store_suite::store_suite!(crate::store_suite_postgres::Postgres);
