//! The loop guard. An answering agent may have claude-comms as a tool
//! itself and ask another module, which may ask back. Every child inherits
//! the hop count and the chain of modules through its environment; a
//! question past the hop limit is refused with the chain shown.

/// How many hops led to this process (absent means 0).
pub const HOP_ENV: &str = "CLAUDE_COMMS_HOP";
/// The modules of the chain, comma-separated, oldest first.
pub const CHAIN_ENV: &str = "CLAUDE_COMMS_CHAIN";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HopContext {
    pub hop: u32,
    pub chain: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoopError {
    #[error(
        "refused: this question would be hop {next} of a chain limited to {limit} ({}); modules are asking each other in a loop or too deep. Answer from what you know, or raise context.hop_limit in the claude-comms config",
        .chain.join(" → ")
    )]
    HopLimit {
        next: u32,
        limit: u32,
        chain: Vec<String>,
    },
}

impl HopContext {
    /// Reads the hop count and chain from this process's environment.
    pub fn from_env() -> HopContext {
        HopContext::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads them through `get`; unreadable values count as absent.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> HopContext {
        let hop = match get(HOP_ENV) {
            None => 0,
            Some(raw) => raw.trim().parse().unwrap_or_else(|_| {
                tracing::warn!(value = %raw, "{HOP_ENV} is not a number; counting from 0");
                0
            }),
        };
        let chain = get(CHAIN_ENV)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        HopContext { hop, chain }
    }

    /// Checks a question from `source` to `target`. Returns the chain to
    /// record with the message (the inherited chain, then the asker unless
    /// it is already last, then the answerer).
    pub fn check(&self, source: &str, target: &str, limit: u32) -> Result<Vec<String>, LoopError> {
        let mut chain = self.chain.clone();
        if chain.last().map(String::as_str) != Some(source) {
            chain.push(source.to_string());
        }
        chain.push(target.to_string());
        let next = self.hop + 1;
        if next > limit {
            return Err(LoopError::HopLimit { next, limit, chain });
        }
        Ok(chain)
    }

    /// The environment for the child that answers: one hop further.
    pub fn child_env(&self, chain: &[String]) -> Vec<(String, String)> {
        vec![
            (HOP_ENV.to_string(), (self.hop + 1).to_string()),
            (CHAIN_ENV.to_string(), chain.join(",")),
        ]
    }
}
