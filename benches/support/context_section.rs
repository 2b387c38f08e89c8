//! The context engine's figure: a long history packed under the token
//! budget (`cargo bench -- context`). Included by bench.rs.

use super::*;

use claude_comms::config::ContextConfig;
use claude_comms::context::{ContextEngine, PromptKind, QueryInput, Turn, TurnRole};
use claude_comms::descriptor::{Format, ModuleDescriptor, parse_descriptor};

pub(super) fn context_section() {
    let read = |name: &str| -> ModuleDescriptor {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("descriptors/{name}.yaml"));
        parse_descriptor(name, &std::fs::read_to_string(path).unwrap(), Format::Yaml).unwrap()
    };
    let (source, target) = (read("marker"), read("arangodb"));
    let mut rng = Rng(7);
    let history: Vec<Turn> = (1..=500)
        .map(|i| Turn {
            seq: i,
            sender: if i % 2 == 1 {
                "marker".into()
            } else {
                "arangodb".into()
            },
            role: if i % 2 == 1 {
                TurnRole::Query
            } else {
                TurnRole::Reply
            },
            content: {
                let words = 60 + rng.below(120) as usize;
                sentence(&mut rng, words)
            },
        })
        .collect();
    let engine = ContextEngine::new(&ContextConfig {
        token_budget: 50_000,
        ..Default::default()
    });
    let input = QueryInput {
        kind: PromptKind::FollowUp,
        source: &source,
        target: &target,
        target_folder: Path::new("/work/arangodb"),
        conversation_id: "bench",
        history: &history,
        message: "Where do the extracted tables go?",
        hop_chain: &[],
        code_changes: None,
    };
    let mut samples = Vec::new();
    let mut tokens = 0;
    for _ in 0..300 {
        let start = Instant::now();
        let p = engine.render_query(&input).unwrap();
        samples.push(start.elapsed());
        tokens = p.estimated_tokens;
    }
    let s = stats(samples);
    figure(
        "context: 500 turns packed under 50k tokens (median / p99)",
        format!("{} / {} ({tokens} tokens)", ms(s.median), ms(s.p99)),
        "<= 1 ms",
        Some(s.median <= Duration::from_millis(1)),
    );
}
