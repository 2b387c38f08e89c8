//! `claude-comms stats [--module M] [--since 7d]`: per module pair, how many
//! queries, how fast, how many tokens, what they cost, why some failed.

use clap::Args;

use super::output::Output;
use crate::hub::{Hub, StatsReport, parse_since};

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only pairs where this module asks or answers.
    #[arg(long)]
    pub module: Option<String>,
    /// The period to count, back from now: 30m, 12h, 7d, 2w.
    #[arg(long, default_value = "7d")]
    pub since: String,
}

pub async fn run(hub: &Hub, args: StatsArgs, out: &Output) -> anyhow::Result<i32> {
    let since = parse_since(&args.since)?;
    let report = hub
        .conversations()
        .stats(args.module.as_deref(), since)
        .await;
    hub.shutdown().await;
    let report = report?;
    if out.json {
        out.json(&report)?;
        return Ok(0);
    }
    print_table(&report, &args.since, out)?;
    Ok(0)
}

fn print_table(report: &StatsReport, since: &str, out: &Output) -> anyhow::Result<()> {
    if report.pairs.is_empty() {
        out.line(format!("no queries ended in the last {since}"))?;
        return Ok(());
    }
    let ms = |v: Option<i64>| v.map_or("-".into(), |v| format!("{v} ms"));
    let rows: Vec<Vec<String>> = report
        .pairs
        .iter()
        .map(|p| {
            let failures = if p.failures.is_empty() {
                "-".to_string()
            } else {
                p.failures
                    .iter()
                    .map(|(cause, n)| format!("{cause} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                format!("{}->{}", p.source, p.target),
                p.count.to_string(),
                ms(p.latency_p50_ms),
                ms(p.latency_p95_ms),
                p.tokens_in.to_string(),
                p.tokens_out.to_string(),
                format!("${:.4}", p.cost_usd),
                match p.ask_backs_unanswered {
                    0 => p.ask_backs.to_string(),
                    n => format!("{} ({n} unanswered)", p.ask_backs),
                },
                failures,
            ]
        })
        .collect();
    out.table(
        &[
            "PAIR",
            "COUNT",
            "P50",
            "P95",
            "TOKENS IN",
            "TOKENS OUT",
            "COST",
            "ASKED BACK",
            "FAILURES",
        ],
        &rows,
    )?;
    let without: u64 = report.pairs.iter().map(|p| p.replies_without_usage).sum();
    if without > 0 {
        out.note(format!(
            "{without} repl(ies) came from a backend that reports no usage (claude-code-mcp); tokens and cost leave them out"
        ))?;
    }
    Ok(())
}
