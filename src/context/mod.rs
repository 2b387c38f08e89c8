//! The context engine: turns "module A asks module B this" into the prompt
//! the answering agent gets. It tells the agent that it *is* B, working in
//! B's folder; who A is and how the two relate (relationships declared on
//! either side, data types both know); to answer in A's terms (the
//! translation); and what was said before, within a token budget. Text from
//! modules is fenced as data (see [`fence`]) with a tag drawn at random for
//! each prompt; everything else is the same for the same input, and with
//! the same tag ([`ContextEngine::render_query_with_tag`]) the same input
//! gives the same prompt.

mod budget;
mod code_changes;
mod fence;
mod loop_guard;
mod sections;
mod templates;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::ContextConfig;
use crate::descriptor::ModuleDescriptor;

pub use budget::estimate_tokens;
pub use loop_guard::{CHAIN_ENV, HOP_ENV, HopContext, LoopError};

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("template {file}: {reason}")]
    Template { file: String, reason: String },
    #[error(
        "the message needs about {needed} tokens with its framing, over the budget of {budget} (context.token_budget); shorten it or raise the budget"
    )]
    OverBudget { needed: usize, budget: usize },
}

/// Which prompt to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// The first message of a conversation.
    FirstQuery,
    /// A later message, for an agent with no memory of the conversation:
    /// the history goes with it.
    FollowUp,
    /// A later message for a stream instance whose Claude session already
    /// holds the conversation: only the new turn.
    NewTurn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnRole {
    Query,
    Reply,
    Error,
    Note,
    /// The answering agent asked its asker back (issue 29).
    AskBack,
    /// The asker's answer to it.
    AskBackAnswer,
}

/// An earlier turn of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub seq: i64,
    pub sender: String,
    pub role: TurnRole,
    pub content: String,
}

/// Everything a prompt is rendered from.
pub struct QueryInput<'a> {
    pub kind: PromptKind,
    /// The asking module.
    pub source: &'a ModuleDescriptor,
    /// The answering module.
    pub target: &'a ModuleDescriptor,
    pub target_folder: &'a Path,
    pub conversation_id: &'a str,
    /// Earlier turns, ascending, without the new message.
    pub history: &'a [Turn],
    /// The asker's new text (untrusted).
    pub message: &'a str,
    /// The modules that led here, oldest first.
    pub hop_chain: &'a [String],
    /// What changed in the answering module's folder since its last
    /// answer in this conversation (told to the agent after the message).
    pub code_changes: Option<&'a crate::workspace::Changes>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderedPrompt {
    pub text: String,
    pub template: &'static str,
    /// Stored with the message, e.g. `follow_up@1`.
    pub template_version: String,
    /// Always at most the budget.
    pub estimated_tokens: usize,
    /// What was left out to fit the budget, if anything.
    pub cut: Option<String>,
}

pub struct ContextEngine {
    templates: templates::Templates,
    budget: usize,
}

impl ContextEngine {
    /// An engine with the built-in templates.
    pub fn new(config: &ContextConfig) -> ContextEngine {
        ContextEngine {
            templates: templates::Templates::builtin(),
            budget: config.token_budget,
        }
    }

    /// An engine whose templates may be overridden by `<dir>/<name>.md`.
    pub fn with_overrides(
        config: &ContextConfig,
        dir: &Path,
    ) -> Result<ContextEngine, ContextError> {
        Ok(ContextEngine {
            templates: templates::Templates::with_overrides(dir)?,
            budget: config.token_budget,
        })
    }

    pub fn template_versions(&self) -> Vec<(&'static str, String)> {
        self.templates.versions()
    }

    /// The prompt for the answering agent, within the token budget, its
    /// fences tagged with a fresh random tag.
    pub fn render_query(&self, input: &QueryInput<'_>) -> Result<RenderedPrompt, ContextError> {
        self.render_query_with_tag(input, &fence::new_tag())
    }

    /// [`ContextEngine::render_query`] with a given fence tag: the same input
    /// and tag always render the same prompt (for tests and reproduction).
    /// The tag must not be predictable by the modules in a real prompt.
    pub fn render_query_with_tag(
        &self,
        input: &QueryInput<'_>,
        tag: &str,
    ) -> Result<RenderedPrompt, ContextError> {
        let name = match input.kind {
            PromptKind::FirstQuery => "first_query",
            PromptKind::FollowUp => "follow_up",
            PromptKind::NewTurn => "new_turn",
        };
        let template = self.templates.get(name);
        let mut values = sections::values(input, tag);
        values.insert("history", String::new());
        let changes_note = input
            .code_changes
            .map(code_changes::note)
            .unwrap_or_default();
        let without_history = template.render(&values) + &changes_note;
        let max_bytes = self.budget.saturating_mul(4);
        if without_history.len() > max_bytes {
            return Err(ContextError::OverBudget {
                needed: estimate_tokens(&without_history),
                budget: self.budget,
            });
        }
        let mut cut = None;
        let text = if input.kind == PromptKind::FollowUp && !input.history.is_empty() {
            let packed = budget::pack(
                input.history,
                max_bytes - without_history.len(),
                self.budget,
                tag,
            );
            cut = packed.cut;
            values.insert("history", packed.text);
            template.render(&values) + &changes_note
        } else {
            without_history
        };
        Ok(RenderedPrompt {
            estimated_tokens: estimate_tokens(&text),
            text,
            template: template.name,
            template_version: template.version.clone(),
            cut,
        })
    }

    /// What the asking host sees: the answer, with who answered.
    pub fn frame_reply(
        &self,
        source: &str,
        target: &str,
        conversation_id: &str,
        reply: &str,
    ) -> String {
        self.templates.get("reply_framing").render(&BTreeMap::from([
            ("source_name", source.to_string()),
            ("target_name", target.to_string()),
            ("conversation_id", conversation_id.to_string()),
            ("reply", reply.trim_end().to_string()),
        ]))
    }

    /// What the asking host sees when there is no answer: what happened and
    /// what it can do.
    pub fn explain_error(
        &self,
        source: &str,
        target: &str,
        conversation_id: &str,
        error: &str,
    ) -> String {
        self.templates
            .get("error_explanation")
            .render(&BTreeMap::from([
                ("source_name", source.to_string()),
                ("target_name", target.to_string()),
                ("conversation_id", conversation_id.to_string()),
                ("error", error.to_string()),
            ]))
    }
}
