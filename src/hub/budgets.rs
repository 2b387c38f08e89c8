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
use crate::time::{DAY_MS, HOUR_MS, now_ms, span_text, utc_text};

impl Hub {
    /// Refuses a query from `source` to `target` when a budget that covers
    /// the pair is used up.
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
                    b.clone(),
                )
            }),
            budgets.modules.get(target).map(|b| {
                (
                    format!("budgets.modules.{target}"),
                    SpendScope::Target(target.to_string()),
                    b.clone(),
                )
            }),
        ];
        for (name, scope, budget) in applicable.into_iter().flatten() {
            self.check_budget(&name, scope, &budget, now_ms()).await?;
        }
        Ok(())
    }

    async fn check_budget(
        &self,
        name: &str,
        scope: SpendScope,
        budget: &Budget,
        now: i64,
    ) -> Result<(), HubError> {
        if let Some(max) = budget.max_messages_per_hour {
            let start = now - now.rem_euclid(HOUR_MS);
            let spent = self.store.spend_since(&scope, start).await?;
            if spent.messages as u64 >= max {
                return Err(over_budget(
                    format!(
                        "{name}.max_messages_per_hour is used up: {} of {max} queries since {}",
                        spent.messages,
                        utc_text(start)
                    ),
                    start + HOUR_MS,
                    now,
                ));
            }
        }
        if let Some(max) = budget.max_cost_usd_per_day {
            let start = now - now.rem_euclid(DAY_MS);
            let spent = self.store.spend_since(&scope, start).await?;
            if spent.cost_usd >= max {
                return Err(over_budget(
                    format!(
                        "{name}.max_cost_usd_per_day is used up: ${:.4} of ${max:.4} since {}",
                        spent.cost_usd,
                        utc_text(start)
                    ),
                    start + DAY_MS,
                    now,
                ));
            }
        }
        Ok(())
    }
}

impl Hub {
    /// The message caps of `source -> target`, for the store to check in
    /// the transaction that stores the query: concurrent senders, on any
    /// node of a fleet, are refused exactly at the cap.
    pub(super) fn message_caps(&self, source: &str, target: &str) -> Vec<QueryCap> {
        let budgets = &self.config().config.budgets;
        let pair_key = BudgetsConfig::pair_key(source, target);
        let now = now_ms();
        let start = now - now.rem_euclid(HOUR_MS);
        let pair = budgets.pairs.get(&pair_key).and_then(|b| {
            Some(QueryCap {
                scope: SpendScope::Pair {
                    source: source.to_string(),
                    target: target.to_string(),
                },
                since_ms: start,
                max: b.max_messages_per_hour? as i64,
                name: format!("budgets.pairs.\"{pair_key}\".max_messages_per_hour"),
            })
        });
        let module = budgets.modules.get(target).and_then(|b| {
            Some(QueryCap {
                scope: SpendScope::Target(target.to_string()),
                since_ms: start,
                max: b.max_messages_per_hour? as i64,
                name: format!("budgets.modules.{target}.max_messages_per_hour"),
            })
        });
        pair.into_iter().chain(module).collect()
    }
}

/// The refusal of a cap the store checked with the write.
pub(super) fn over_cap(name: &str, count: i64, max: i64) -> HubError {
    let now = now_ms();
    let start = now - now.rem_euclid(HOUR_MS);
    over_budget(
        format!(
            "{name} is used up: {count} of {max} queries since {}",
            utc_text(start)
        ),
        start + HOUR_MS,
        now,
    )
}

fn over_budget(what: String, resets: i64, now: i64) -> HubError {
    HubError::OverBudget(format!(
        "refused before sending: budget {what}; it resets at {} (in {})",
        utc_text(resets),
        span_text(resets - now)
    ))
}
