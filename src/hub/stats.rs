//! `stats`: what each module pair's queries cost and how they ended, from
//! the ledger columns stored with every outcome (see `store/ledger.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Argument, HubError};
use crate::store::OutcomeRow;

/// Longest `--since` accepted (a little over ten years).
const MAX_SINCE: Duration = Duration::from_secs(3_660 * 86_400);

/// One module pair's figures over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PairStats {
    pub source: String,
    pub target: String,
    /// Queries that ended (answered or failed) in the period.
    pub count: u64,
    pub replies: u64,
    /// Failed queries by cause (`timeout`, `child_died`, `cancelled`,
    /// `interrupted`, ...).
    pub failures: BTreeMap<String, u64>,
    /// Time from send to reply of answered queries, in ms.
    pub latency_p50_ms: Option<i64>,
    pub latency_p95_ms: Option<i64>,
    /// Tokens the model read (input plus prompt-cache reads and writes)
    /// and wrote, as the backend reported them.
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    /// Replies whose backend reported no usage (claude-code-mcp gives only
    /// text), so the token and cost figures leave them out.
    pub replies_without_usage: u64,
    /// Questions the answering agent asked its asker back in the period
    /// (`ask_asker`), and how many of them got no answer in time.
    #[serde(default)]
    pub ask_backs: u64,
    #[serde(default)]
    pub ask_backs_unanswered: u64,
}

/// What `stats` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatsReport {
    /// Start of the period, unix ms.
    pub since_ms: i64,
    /// Only pairs where this module asks or answers, if given.
    pub module: Option<String>,
    pub pairs: Vec<PairStats>,
}

impl<'h> crate::hub::Conversations<'h> {
    /// Per module pair: count, p50/p95 latency, tokens, cost, failures by
    /// cause, over the last `since` (optionally only pairs of `module`).
    pub async fn stats(
        self,
        module: Option<&str>,
        since: Duration,
    ) -> Result<StatsReport, HubError> {
        if let Some(m) = module {
            self.modules().descriptor(m)?;
        }
        // The window ends at the store's clock (the database's in a fleet),
        // the clock that stamped every row it counts.
        let now = self.store.clock_ms().await?;
        let since_ms = now.saturating_sub(since.as_millis() as i64);
        let rows = self.store.outcomes_since(since_ms, module).await?;
        let mut pairs = pair_stats(rows);
        for counted in self.store.ask_backs_since(since_ms, module).await? {
            let at = match pairs
                .iter()
                .position(|p| p.source == counted.source && p.target == counted.target)
            {
                Some(at) => at,
                None => {
                    pairs.push(empty_pair(&counted.source, &counted.target));
                    pairs.len() - 1
                }
            };
            let count = u64::try_from(counted.count).unwrap_or(0);
            pairs[at].ask_backs += count;
            if counted.state == crate::store::AskBackState::Unanswered {
                pairs[at].ask_backs_unanswered += count;
            }
        }
        pairs.sort_by(|a, b| (&a.source, &a.target).cmp(&(&b.source, &b.target)));
        Ok(StatsReport {
            since_ms,
            module: module.map(str::to_string),
            pairs,
        })
    }
}

/// Folds outcome rows into one [`PairStats`] per pair, sorted by pair.
pub fn pair_stats(rows: Vec<OutcomeRow>) -> Vec<PairStats> {
    let mut pairs: BTreeMap<(String, String), (PairStats, Vec<i64>)> = BTreeMap::new();
    for row in rows {
        let (stats, latencies) = pairs
            .entry((row.source.clone(), row.target.clone()))
            .or_insert_with(|| (empty_pair(&row.source, &row.target), Vec::new()));
        stats.count += 1;
        match row.failure {
            Some(cause) => *stats.failures.entry(cause).or_default() += 1,
            None => {
                stats.replies += 1;
                latencies.extend(row.duration_ms);
                if row.input_tokens.is_none() && row.output_tokens.is_none() {
                    stats.replies_without_usage += 1;
                }
                stats.tokens_in += row.input_tokens.unwrap_or(0);
                stats.tokens_out += row.output_tokens.unwrap_or(0);
                stats.cost_usd += row.cost_usd.unwrap_or(0.0);
            }
        }
    }
    pairs
        .into_values()
        .map(|(mut stats, mut latencies)| {
            latencies.sort_unstable();
            stats.latency_p50_ms = percentile(&latencies, 0.50);
            stats.latency_p95_ms = percentile(&latencies, 0.95);
            stats
        })
        .collect()
}

/// A pair with nothing counted yet.
fn empty_pair(source: &str, target: &str) -> PairStats {
    PairStats {
        source: source.to_string(),
        target: target.to_string(),
        count: 0,
        replies: 0,
        failures: BTreeMap::new(),
        latency_p50_ms: None,
        latency_p95_ms: None,
        tokens_in: 0,
        tokens_out: 0,
        cost_usd: 0.0,
        replies_without_usage: 0,
        ask_backs: 0,
        ask_backs_unanswered: 0,
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// A period such as `90m`, `12h`, `7d`, `2w` (a bare number is days).
pub fn parse_since(text: &str) -> Result<Duration, HubError> {
    let bad = || {
        HubError::bad_argument(
            Argument::Since,
            format!("\"{text}\" is not a period; write a number and a unit: 30m, 12h, 7d, 2w"),
        )
    };
    let text_trimmed = text.trim();
    let split = text_trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text_trimmed.len());
    let (number, unit) = text_trimmed.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3_600,
        "" | "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    let since = Duration::from_secs(number.saturating_mul(seconds));
    if since > MAX_SINCE {
        return Err(HubError::bad_argument(
            Argument::Since,
            format!("\"{text}\" is longer than ten years"),
        ));
    }
    Ok(since)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(source: &str, failure: Option<&str>, ms: i64, cost: f64) -> OutcomeRow {
        OutcomeRow {
            source: source.into(),
            target: "arangodb".into(),
            at: 0,
            failure: failure.map(str::to_string),
            duration_ms: Some(ms),
            api_duration_ms: None,
            num_turns: Some(1),
            input_tokens: failure.is_none().then_some(10),
            output_tokens: failure.is_none().then_some(3),
            cost_usd: failure.is_none().then_some(cost),
        }
    }

    #[test]
    fn pairs_fold_counts_latency_tokens_cost_and_causes() {
        let mut rows: Vec<OutcomeRow> = (1..=20)
            .map(|i| row("marker", None, i * 10, 0.01))
            .collect();
        rows.push(row("marker", Some("timeout"), 600_000, 0.0));
        rows.push(row("marker", Some("timeout"), 600_000, 0.0));
        rows.push(row("indexer", Some("child_died"), 5, 0.0));
        let stats = pair_stats(rows);
        assert_eq!(stats.len(), 2);
        let (indexer, marker) = (&stats[0], &stats[1]);
        assert_eq!(indexer.source, "indexer");
        assert_eq!(indexer.failures.get("child_died"), Some(&1));
        assert_eq!(indexer.latency_p50_ms, None);
        assert_eq!((marker.count, marker.replies), (22, 20));
        assert_eq!(marker.failures.get("timeout"), Some(&2));
        // Latency of answered queries only: 10..200 ms.
        assert_eq!(marker.latency_p50_ms, Some(100));
        assert_eq!(marker.latency_p95_ms, Some(190));
        assert_eq!((marker.tokens_in, marker.tokens_out), (200, 60));
        assert!((marker.cost_usd - 0.20).abs() < 1e-9);
    }

    #[test]
    fn periods_parse_with_units_and_bad_ones_are_named() {
        assert_eq!(parse_since("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse_since("90m").unwrap(), Duration::from_secs(5_400));
        assert_eq!(parse_since("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_since("2").unwrap(), Duration::from_secs(2 * 86_400));
        for bad in ["", "d", "7x", "-1d", "1.5d"] {
            let e = parse_since(bad).unwrap_err().to_string();
            assert!(e.contains("since") && e.contains(bad), "{e}");
        }
        assert!(
            parse_since("99999w")
                .unwrap_err()
                .to_string()
                .contains("ten years")
        );
    }
}
