//! `get_stats`: per module pair, queries, latency, tokens, cost and
//! failures by cause over a period (the same figures as `claude-comms stats`).

use std::fmt::Write;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{hub_failure, reply};
use crate::hub::{StatsReport, parse_since};
use crate::mcp::comms_server::CommsServer;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetStatsArgs {
    /// Only pairs where this module asks or answers.
    #[serde(default)]
    pub module: Option<String>,
    /// The period back from now: `30m`, `12h`, `7d` (default), `2w`.
    #[serde(default)]
    pub since: Option<String>,
}

fn describe(report: &StatsReport) -> String {
    let mut text = format!("{} module pair(s)", report.pairs.len());
    for p in &report.pairs {
        let _ = write!(
            text,
            "\n- {} -> {}: {} quer(ies), p50 {} ms, p95 {} ms, {} tokens in, {} out, ${:.4}",
            p.source,
            p.target,
            p.count,
            p.latency_p50_ms.map_or("-".into(), |v| v.to_string()),
            p.latency_p95_ms.map_or("-".into(), |v| v.to_string()),
            p.tokens_in,
            p.tokens_out,
            p.cost_usd
        );
        for (cause, n) in &p.failures {
            let _ = write!(text, "; {n} failed ({cause})");
        }
    }
    text
}

#[tool_router(router = stats_tools, vis = "pub(crate)")]
impl CommsServer {
    #[tool(
        description = "What module pairs' queries cost over a period: per pair the number of queries, p50/p95 latency, tokens in and out, cost in USD, and failures by cause. `since` is like 12h or 7d (default 7d).",
        output_schema = schema_for_output::<StatsReport>(),
        annotations(read_only_hint = true)
    )]
    async fn get_stats(
        &self,
        Parameters(args): Parameters<GetStatsArgs>,
    ) -> Result<CallToolResult, McpError> {
        let since = match parse_since(args.since.as_deref().unwrap_or("7d")) {
            Ok(since) => since,
            Err(e) => return Ok(hub_failure(e)),
        };
        reply(
            self.hub()
                .conversations()
                .stats(args.module.as_deref(), since)
                .await,
            describe,
        )
    }
}
