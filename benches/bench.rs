//! The benchmark harness: prints every figure of docs/benchmarks.md with its
//! target beside it. Comparisons are measured side by side in one run
//! (interleaved calls) and reported as medians, p99 and a ratio.
//!
//!     cargo bench                       # everything
//!     cargo bench -- context overhead   # only some sections
//!
//! Sections: context, overhead (in-repo instant fake child), forwarding
//! (real claude-code-mcp), warm (claude-stream against fresh `claude -p`),
//! standby (first turns answered by a standby process), memory (RSS of warm
//! instances, the memory budget under a burst), throughput, footprint, store,
//! http, sessions, workspace, daemon; each lives in benches/support/, this file keeps
//! the driver and the helpers they share. The real sections need
//! scripts/install-real-children.sh; they run against the stand-in model on
//! 127.0.0.1, which answers at once, so what is measured is claude-comms and
//! the CLI, not a model.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark harness stops at its first failure"
)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/model_stub.rs"]
mod model_stub;
#[path = "../tests/support/real_children.rs"]
mod real_children;

// One file per section (or group of sections); each sees this file's
// helpers through `use super::*`.
#[path = "support/context_section.rs"]
mod context_section;
#[path = "support/daemon_section.rs"]
mod daemon_section;
#[path = "support/fleet_section.rs"]
mod fleet_section;
#[path = "support/footprint_section.rs"]
mod footprint_section;
#[path = "support/http_section.rs"]
mod http_section;
#[path = "support/network_section.rs"]
mod network_section;
#[path = "support/overhead_section.rs"]
mod overhead_section;
#[path = "../tests/support/pg_cluster.rs"]
mod pg_cluster;
#[path = "support/real_child_sections.rs"]
mod real_child_sections;
#[path = "support/sessions_section.rs"]
mod sessions_section;
#[path = "support/store_section.rs"]
mod store_section;
#[path = "../tests/support/tcp_proxy.rs"]
mod tcp_proxy;
#[path = "support/throughput_section.rs"]
mod throughput_section;
#[path = "support/workspace_section.rs"]
mod workspace_section;

use context_section::context_section;
use daemon_section::{
    daemon_cli_section, daemon_footprint_section, daemon_hop_section, daemon_throughput_section,
};
use footprint_section::footprint_section;
use http_section::{http_hop_section, http_throughput_section};
use overhead_section::{inproc_section, overhead_section};
use real_child_sections::{forwarding_section, memory_section, standby_section, warm_section};
use store_section::store_section;
use throughput_section::{THROUGHPUT_PAIRS, queries_after_warm_up, throughput_section};

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_comms::config::HOME_ENV;
use claude_comms::hub::{Hub, SendRequest};
use claude_comms::store::{Role, Store};
use model_stub::ModelStub;
use real_children::RealChildren;
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

// ----- figures ---------------------------------------------------------------

struct Stats {
    median: Duration,
    p95: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        median: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn figure(name: &str, result: String, target: &str, met: Option<bool>) {
    let mark = match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "-",
    };
    println!("| {name} | {result} | {target} | {mark} |");
}

/// A deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "table",
    "block",
    "page",
    "graph",
    "vertex",
    "edge",
    "collection",
    "index",
    "schema",
    "markdown",
    "json",
    "extract",
    "store",
    "query",
    "search",
    "embedding",
    "document",
    "section",
    "figure",
    "caption",
    "arango",
    "marker",
    "pdf",
    "ocr",
    "layout",
    "chunk",
    "token",
    "batch",
    "import",
    "export",
    "field",
    "relation",
    "node",
    "cursor",
    "filter",
    "score",
    "vector",
    "text",
    "title",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    (0..words)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

// ----- set-up ----------------------------------------------------------------

fn bin(name: &str) -> &'static str {
    match name {
        "claude-comms" => env!("CARGO_BIN_EXE_claude-comms"),
        _ => env!("CARGO_BIN_EXE_fake-mcp-child"),
    }
}

/// Stops the daemon of a home when dropped, so a section that panics
/// (or returns early) leaves no daemon behind.
struct StopsDaemon(std::path::PathBuf);

impl Drop for StopsDaemon {
    fn drop(&mut self) {
        let _ = std::process::Command::new(bin("claude-comms"))
            .args(["daemon", "stop"])
            .env(HOME_ENV, &self.0)
            .env_remove("CLAUDE_COMMS_CONFIG")
            .output();
    }
}

/// A home whose config maps the modules to folders and adds `extra` TOML,
/// with two more descriptors for pairs beyond the shipped modules.
fn home_with(extra: &str) -> tempfile::TempDir {
    let home = common::home_with_modules(
        &["marker", "arangodb", "claude_mcp", "indexer", "summarizer"],
        extra,
    );
    let descriptors = home.path().join("descriptors");
    std::fs::create_dir_all(&descriptors).unwrap();
    for (name, what) in [
        ("indexer", "Indexes documents"),
        ("summarizer", "Summarises documents"),
    ] {
        std::fs::write(
            descriptors.join(format!("{name}.yaml")),
            format!("name: {name}\nversion: 1.0.0\ndescription: {what}.\n"),
        )
        .unwrap();
    }
    home
}

fn fake_toml(pool_max: usize, max_in_flight: usize) -> String {
    format!(
        "[instances.claude_code_mcp]\ncommand = {:?}\nargs = []\npool_max = {pool_max}\nmax_in_flight = {max_in_flight}\n",
        bin("fake")
    )
}

use common::hub_in;

/// An MCP client of a child process started from `command`.
async fn client_of(command: tokio::process::Command) -> RunningService<RoleClient, ()> {
    let transport = TokioChildProcess::builder(command)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
        .0;
    ().serve(transport).await.unwrap()
}

async fn serve_client(home: &Path) -> RunningService<RoleClient, ()> {
    let mut command = tokio::process::Command::new(bin("claude-comms"));
    command
        .arg("serve")
        .env(HOME_ENV, home)
        .env("RUST_LOG", "error")
        .env_remove("CLAUDE_COMMS_CONFIG");
    client_of(command).await
}

/// A tool's answer: its structured content, or the text of a tool that has
/// none (a child's `claude_code`, which answers in text only). Panics on a
/// tool error, naming it.
async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> Value {
    let result = common::call(client, tool, args).await;
    if result.structured_content.is_some() {
        return common::ok_value(&result);
    }
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} failed: {}",
        common::text_of(&result)
    );
    Value::String(common::text_of(&result))
}

async fn timed<F: std::future::Future>(f: F) -> (Duration, F::Output) {
    let start = Instant::now();
    let out = f.await;
    (start.elapsed(), out)
}

fn rss_kib(pid: u32) -> u64 {
    claude_comms::instances::memory::process_rss_kib(pid).unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
    // binary without it, and a test run is no place for benchmarks.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "benchmarks run with `cargo bench` (a quick debug run: `cargo test --bench bench -- --bench SECTION`); nothing to test here"
        );
        return;
    }
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |section: &str| wanted.is_empty() || wanted.iter().any(|w| w == section);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!("| measure | result | target | |");
    println!("|---|---|---|---|");
    if run("context") {
        context_section();
    }
    if run("overhead") {
        runtime.block_on(overhead_section());
        runtime.block_on(inproc_section());
    }
    let real = RealChildren::find();
    if ["forwarding", "warm", "standby", "memory"]
        .iter()
        .any(|s| run(s))
    {
        match &real {
            Some(real) => {
                if run("forwarding") {
                    runtime.block_on(forwarding_section(real));
                }
                if run("warm") {
                    runtime.block_on(warm_section(real));
                }
                if run("standby") {
                    runtime.block_on(standby_section(real));
                }
                if run("memory") {
                    runtime.block_on(memory_section(real));
                }
            }
            None => {
                println!("| forwarding, warm | skipped: run scripts/install-real-children.sh | | |")
            }
        }
    }
    if run("throughput") {
        runtime.block_on(throughput_section());
    }
    if run("footprint") {
        runtime.block_on(footprint_section());
    }
    if run("store") {
        runtime.block_on(store_section());
    }
    if run("fleet") {
        runtime.block_on(fleet_section::fleet_section());
    }
    if run("network") {
        runtime.block_on(network_section::network_section());
    }
    if run("http") {
        runtime.block_on(http_hop_section());
        runtime.block_on(http_throughput_section());
    }
    if run("sessions") {
        runtime.block_on(sessions_section::sessions_section());
    }
    if run("workspace") {
        runtime.block_on(workspace_section::workspace_section());
    }
    if run("daemon") {
        runtime.block_on(daemon_hop_section());
        runtime.block_on(daemon_footprint_section());
        runtime.block_on(daemon_throughput_section());
        match &real {
            Some(real) => runtime.block_on(daemon_cli_section(real)),
            None => println!("| daemon CLI | skipped: run scripts/install-real-children.sh | | |"),
        }
    }
}
