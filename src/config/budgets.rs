//! `[budgets]`: what module pairs may spend.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[budgets]`: per module pair (`pairs."source->target"`) and per
/// answering module (`modules.NAME`). Windows are fixed UTC periods: the
/// day resets at 00:00 UTC, the hour on the hour.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetsConfig {
    pub pairs: BTreeMap<String, Budget>,
    /// Counts every query the module's agent answers, whoever asks.
    pub modules: BTreeMap<String, Budget>,
}

/// One budget; an absent limit is no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    /// Cost of replies (as the backend reports it) per UTC day, in USD.
    pub max_cost_usd_per_day: Option<f64>,
    /// Queries per hour (on the hour, UTC), whatever became of them.
    pub max_messages_per_hour: Option<u64>,
}

impl BudgetsConfig {
    /// The pair key of `pairs`: `source->target`.
    pub fn pair_key(source: &str, target: &str) -> String {
        format!("{source}->{target}")
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for key in self.pairs.keys() {
            let ok = key
                .split_once("->")
                .is_some_and(|(s, t)| !s.trim().is_empty() && !t.trim().is_empty());
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "budgets.pairs.\"{key}\": a pair is written \"source->target\" (e.g. [budgets.pairs.\"marker->arangodb\"])"
                )));
            }
        }
        let all = self
            .pairs
            .iter()
            .map(|(k, b)| (format!("budgets.pairs.\"{k}\""), b))
            .chain(
                self.modules
                    .iter()
                    .map(|(k, b)| (format!("budgets.modules.{k}"), b)),
            );
        for (key, budget) in all {
            if let Some(cost) = budget.max_cost_usd_per_day
                && !(cost.is_finite() && cost >= 0.0)
            {
                return Err(ConfigError::Invalid(format!(
                    "{key}.max_cost_usd_per_day: {cost} must be a number of dollars, 0 or more"
                )));
            }
        }
        Ok(())
    }
}
