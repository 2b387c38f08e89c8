//! What the web console (`src/console/`) asks of the hub beyond the MCP
//! tools (a session's token is re-checked by id in `tokens.rs`): this
//! machine as the one "node" of a SQLite store, the
//! ledger's rows for plots over time, and how much of each budget is used.

use serde::Serialize;

use super::HubError;
use super::fleet::{FleetStatus, NodeStatus};
use crate::config::{Budget, BudgetsConfig};
use crate::store::{MessageStatus, OutcomeRow, SpendScope};
use crate::time::{DAY_MS, HOUR_MS, now_ms};

/// One budget and how much of its current window is used.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetUse {
    /// `pair source->target` or `module NAME`.
    pub name: String,
    /// The modules it concerns (the pair's two, or the answering module).
    pub modules: Vec<String>,
    pub max_messages_per_hour: Option<u64>,
    /// Queries since the start of this UTC hour.
    pub messages_this_hour: i64,
    pub max_cost_usd_per_day: Option<f64>,
    /// Cost since 00:00 UTC today.
    pub cost_usd_today: f64,
}

impl<'h> crate::hub::Node<'h> {
    /// `fleet status` where there is no fleet (a SQLite store): this
    /// machine as the one node, from this process's own view.
    pub async fn machine_status(self) -> Result<FleetStatus, HubError> {
        let instances = self
            .instances()
            .all()
            .await?
            .iter()
            .filter(|r| r.server_alive)
            .count();
        let pending = self
            .jobs()
            .list(Some(MessageStatus::Pending), None, 500)
            .await?
            .len() as i64;
        let node = self.config().config.fleet.node_name();
        let now = now_ms();
        Ok(FleetStatus {
            this_node: node.clone(),
            lease_s: self.config().config.fleet.lease_s,
            max_connections: 0,
            role_open: 0,
            role_limit: None,
            server_max: 0,
            nodes: vec![NodeStatus {
                name: node,
                address: self.config().config.daemon.listen.clone(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                schema_version: 0,
                started_at: now,
                last_heartbeat: now,
                heard_ms_ago: 0,
                alive: true,
                stopped: false,
                modules: self.hosted_modules(),
                instances,
                in_flight: pending,
                connections: Default::default(),
            }],
        })
    }

    /// The ledger's outcomes since `since_ms` (of pairs `module` takes part
    /// in, if given), for plots over time.
    pub async fn outcome_rows(
        self,
        since_ms: i64,
        module: Option<&str>,
    ) -> Result<Vec<OutcomeRow>, HubError> {
        Ok(self.store.outcomes_since(since_ms, module).await?)
    }

    /// Every configured budget (those concerning `module`, if given) with
    /// what its current windows have used.
    pub async fn budget_use(self, module: Option<&str>) -> Result<Vec<BudgetUse>, HubError> {
        let budgets = &self.config().config.budgets;
        let mut scoped: Vec<(String, Vec<String>, SpendScope, &Budget)> = Vec::new();
        for (key, budget) in &budgets.pairs {
            let Some((source, target)) = key.split_once("->") else {
                continue;
            };
            let (source, target) = (source.trim().to_string(), target.trim().to_string());
            scoped.push((
                format!("pair {}", BudgetsConfig::pair_key(&source, &target)),
                vec![source.clone(), target.clone()],
                SpendScope::Pair { source, target },
                budget,
            ));
        }
        for (name, budget) in &budgets.modules {
            scoped.push((
                format!("module {name}"),
                vec![name.clone()],
                SpendScope::Target(name.clone()),
                budget,
            ));
        }
        let mut out = Vec::new();
        for (name, modules, scope, budget) in scoped {
            if module.is_some_and(|m| !modules.iter().any(|x| x == m)) {
                continue;
            }
            // The store's windows (on PostgreSQL the database's clock), as
            // the budgets themselves count them.
            let this_hour = self.store.spend_in_window(&scope, HOUR_MS).await?.spend;
            let today = self.store.spend_in_window(&scope, DAY_MS).await?.spend;
            out.push(BudgetUse {
                name,
                modules,
                max_messages_per_hour: budget.max_messages_per_hour,
                messages_this_hour: this_hour.messages,
                max_cost_usd_per_day: budget.max_cost_usd_per_day,
                cost_usd_today: today.cost_usd,
            });
        }
        Ok(out)
    }
}
