//! `modules init --draft`: what a module's own agent proposes for the parts
//! of its descriptor that cannot be read off the files (capabilities, data
//! types, relationships). The agent answers in its folder, read-only; its
//! answer is data, never trusted as it is: only those three lists are
//! taken from it, each item must fit the descriptor schema, and the user
//! accepts the whole before anything is written.

use serde::Deserialize;

use crate::descriptor::model::{Capability, DataType, ModuleDescriptor, Relationship};

/// The three lists an agent proposes (anything else it says is ignored).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Proposal {
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    #[serde(default)]
    pub data_types: Vec<DataType>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
}

impl Proposal {
    pub fn is_empty(&self) -> bool {
        self.capabilities.is_empty() && self.data_types.is_empty() && self.relationships.is_empty()
    }
}

/// The question put to the module's agent about its own code.
pub fn proposal_prompt(descriptor: &ModuleDescriptor, hint: Option<&str>) -> String {
    let mut prompt = format!(
        "You are the agent of the module \"{name}\" ({description}). Read this folder's code \
         (do not change anything) and propose the parts of its claude-comms module descriptor \
         that describe how other modules use it. Answer with one YAML block (```yaml ... ```) \
         holding only these keys:\n\
         capabilities: a list of {{name, description, inputs: [data type names], outputs: [data type names]}}\n\
         data_types: a list of {{name, description}} for every type a capability names\n\
         relationships: a list of {{module, kind: depends_on | provides_to | consumes_from | peer, description}} \
         for other modules it works with, if the code names any\n\
         Names are lowercase letters, digits, - and _. Propose only what the code shows.",
        name = descriptor.name,
        description = descriptor.description,
    );
    if let Some(hint) = hint.filter(|h| !h.trim().is_empty()) {
        prompt.push_str("\nThe user adds: ");
        prompt.push_str(hint.trim());
    }
    prompt
}

/// The proposal in an agent's answer: its first ```yaml (or ```) block, or
/// the whole answer when it has none. Errors say what does not fit.
pub fn parse_proposal(answer: &str) -> Result<Proposal, String> {
    let text = fenced_block(answer).unwrap_or(answer);
    let proposal: Proposal = serde_saphyr::from_str(text)
        .map_err(|e| format!("the agent's proposal is not a descriptor fragment: {e}"))?;
    if proposal.is_empty() {
        return Err("the agent proposed no capabilities, data types or relationships".to_string());
    }
    Ok(proposal)
}

/// `descriptor` with the proposal's lists in place of its own.
pub fn apply(descriptor: &ModuleDescriptor, proposal: &Proposal) -> ModuleDescriptor {
    ModuleDescriptor {
        capabilities: proposal.capabilities.clone(),
        data_types: proposal.data_types.clone(),
        relationships: proposal.relationships.clone(),
        ..descriptor.clone()
    }
}

/// The inside of the first fenced block of `text`, if any.
fn fenced_block(text: &str) -> Option<&str> {
    let start = text.find("```")?;
    let after = &text[start + 3..];
    let body_start = after.find('\n')? + 1;
    let body = &after[body_start..];
    let end = body.find("```")?;
    Some(&body[..end])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test stops at its first failed step")]
    use super::*;

    #[test]
    fn a_fenced_yaml_block_is_read_and_the_rest_ignored() {
        let answer = "Here is what I found:\n```yaml\ncapabilities:\n  - name: extract\n    description: Pulls text out of PDFs\n    inputs: [pdf]\n    outputs: [text]\ndata_types:\n  - name: pdf\n    description: A PDF file\n  - name: text\n    description: Plain text\nnotes: ignored\n```\nDone.";
        let proposal = parse_proposal(answer).unwrap();
        assert_eq!(proposal.capabilities.len(), 1);
        assert_eq!(proposal.capabilities[0].name, "extract");
        assert_eq!(proposal.data_types.len(), 2);
    }

    #[test]
    fn prose_without_a_proposal_is_an_error_that_says_so() {
        let err = parse_proposal("I could not tell what this module does.").unwrap_err();
        assert!(
            err.contains("not a descriptor fragment") || err.contains("proposed no"),
            "{err}"
        );
        let err = parse_proposal("```yaml\ncapabilities: []\n```").unwrap_err();
        assert!(err.contains("proposed no"), "{err}");
    }
}
