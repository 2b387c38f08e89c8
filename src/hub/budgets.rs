//! Budgets (`[budgets]` in the config): a query that would go over a
//! module pair's or an answering module's budget is refused before it is
//! stored or dispatched, and before its conversation is created, with an
//! error that names the budget and when it resets.
//!
//! Windows are fixed UTC periods (the day from 00:00 UTC, the hour from the
//! full hour), so "when it resets" is one moment anyone can check. Cost is
//! what the backends reported with each reply; a backend that reports none
//! (claude-code-mcp gives only text) adds nothing to a cost budget.

use super::{Hub, HubError};
use crate::config::{Budget, BudgetsConfig};
use crate::store::{QueryCap, SpendScope};
use crate::time::{DAY_MS, HOUR_MS, span_text, utc_text};

impl Hub {
    /// Refuses a query from `source` to `target` when a cost budget that
    /// covers the pair is used up. Message caps are not checked here: the
    /// store checks them once, in the transaction that stores the query
    /// ([`Hub::message_caps`]), so that concurrent senders on any node are
    /// refused exactly at the cap.
    pub(super) async fn check_budgets(&self, source: &str, target: &str) -> Result<(), HubError> {
        let budgets = &self.config().config.budgets;
        let pair_key = BudgetsConfig::pair_key(source, target);
        let applicable = [
            budgets.pairs.get(&pair_key).map(|b| {
                (
                    format!("budgets.pairs.\"{pair_key}\""),
                    SpendScope::Pair {
                        source: source.to_string(),
                        target: target.to_string(),
                    },
                    b,
                )
            }),
            budgets.modules.get(target).map(|b| {
                (
                    format!("budgets.modules.{target}"),
                    SpendScope::Target(target.to_string()),
                    b,
                )
            }),
        ];
        for (name, scope, budget) in applicable.into_iter().flatten() {
            self.check_cost(&name, scope, budget).await?;
        }
        Ok(())
    }

    /// The day's cost so far, in the day the store's clock is in (on
    /// PostgreSQL the database's: every node of a fleet sees one day).
    async fn check_cost(
        &self,
        name: &str,
        scope: SpendScope,
        budget: &Budget,
    ) -> Result<(), HubError> {
        let Some(max) = budget.max_cost_usd_per_day else {
            return Ok(());
        };
        let day = self.store.spend_in_window(&scope, DAY_MS).await?;
        if day.spend.cost_usd >= max {
            return Err(over_budget(
                format!(
                    "{name}.max_cost_usd_per_day is used up: ${:.4} of ${max:.4} since {}",
                    day.spend.cost_usd,
                    utc_text(day.since_ms)
                ),
                day.since_ms + DAY_MS,
                day.now_ms,
            ));
        }
        Ok(())
    }
}

impl Hub {
    /// The message caps of `source -> target`, for the store to check in
    /// the transaction that stores the query: concurrent senders, on any
    /// node of a fleet, are refused exactly at the cap. Each counts the
    /// current hour by the store's clock.
    pub(super) fn message_caps(&self, source: &str, target: &str) -> Vec<QueryCap> {
        let budgets = &self.config().config.budgets;
        let pair_key = BudgetsConfig::pair_key(source, target);
        let pair = budgets.pairs.get(&pair_key).and_then(|b| {
            Some(QueryCap {
                scope: SpendScope::Pair {
                    source: source.to_string(),
                    target: target.to_string(),
                },
                window_ms: HOUR_MS,
                max: b.max_messages_per_hour? as i64,
                name: format!("budgets.pairs.\"{pair_key}\".max_messages_per_hour"),
            })
        });
        let module = budgets.modules.get(target).and_then(|b| {
            Some(QueryCap {
                scope: SpendScope::Target(target.to_string()),
                window_ms: HOUR_MS,
                max: b.max_messages_per_hour? as i64,
                name: format!("budgets.modules.{target}.max_messages_per_hour"),
            })
        });
        pair.into_iter().chain(module).collect()
    }
}

/// The refusal of a cap the store checked with the write.
/// Its window (`since_ms`) and the time (`now_ms`) are the store's.
pub(super) fn over_cap(name: &str, count: i64, max: i64, since_ms: i64, now_ms: i64) -> HubError {
    over_budget(
        format!(
            "{name} is used up: {count} of {max} queries since {}",
            utc_text(since_ms)
        ),
        since_ms + HOUR_MS,
        now_ms,
    )
}

fn over_budget(what: String, resets: i64, now: i64) -> HubError {
    HubError::OverBudget(format!(
        "refused before sending: budget {what}; it resets at {} (in {})",
        utc_text(resets),
        span_text(resets - now)
    ))
}
