//! The parts of a prompt built from the descriptors: capabilities, the
//! relationships declared on either side, the data types both modules know,
//! the hop chain, and the fenced message.
//!
//! Every piece of module-supplied text (descriptor fields, names, the
//! folder) is neutralised here, so none of it can forge a fence marker:
//! each section ends with one [`neutralise`] over the whole text it built.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::QueryInput;
use super::fence::{fence, neutralise};
use crate::descriptor::{Capability, ModuleDescriptor};

/// The placeholder values for a prompt template (all but `history`); the
/// message is fenced with `tag`.
pub(super) fn values<'a>(input: &QueryInput<'_>, tag: &str) -> BTreeMap<&'a str, String> {
    let (source, target) = (input.source, input.target);
    let module_text = [
        ("target_name", target.name.clone()),
        ("target_version", target.version.clone()),
        ("target_description", target.description.trim().to_string()),
        ("target_folder", input.target_folder.display().to_string()),
        (
            "target_capabilities",
            capabilities("What you offer", &target.capabilities),
        ),
        ("target_context", notes(target)),
        ("source_name", source.name.clone()),
        ("source_description", source.description.trim().to_string()),
        (
            "source_capabilities",
            capabilities(&format!("What {} does", source.name), &source.capabilities),
        ),
        ("relationships", relationships(source, target)),
        ("shared_data_types", shared_data_types(source, target)),
        ("hop_note", hop_note(input.hop_chain)),
        ("conversation_id", input.conversation_id.to_string()),
    ];
    let mut values: BTreeMap<&'a str, String> = module_text
        .into_iter()
        .map(|(key, text)| (key, neutralise(&text).into_owned()))
        .collect();
    values.insert(
        "message",
        fence(&format!("MESSAGE from {}", source.name), input.message, tag),
    );
    values
}

fn capabilities(heading: &str, capabilities: &[Capability]) -> String {
    if capabilities.is_empty() {
        return String::new();
    }
    let mut out = format!("{heading}:\n");
    for c in capabilities {
        let _ = write!(out, "- {}: {}", c.name, c.description.trim());
        if !c.inputs.is_empty() || !c.outputs.is_empty() {
            let _ = write!(
                out,
                " (takes: {}; gives: {})",
                list(&c.inputs),
                list(&c.outputs)
            );
        }
        out.push('\n');
    }
    out
}

fn notes(target: &ModuleDescriptor) -> String {
    let context = target.context.trim();
    if context.is_empty() {
        String::new()
    } else {
        format!("What you should know about your code:\n{context}\n")
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

/// Relationships declared by either module towards the other.
fn relationships(source: &ModuleDescriptor, target: &ModuleDescriptor) -> String {
    let mut lines = Vec::new();
    for (from, to) in [(source, target), (target, source)] {
        for r in from.relationships.iter().filter(|r| r.module == to.name) {
            let mut line = format!("- {} {} {}", from.name, r.kind.as_str(), to.name);
            if !r.description.trim().is_empty() {
                let _ = write!(line, ": {}", r.description.trim());
            }
            lines.push(line);
        }
    }
    if lines.is_empty() {
        format!(
            "Neither module declares a relationship to the other; {} may be new to you.\n",
            source.name
        )
    } else {
        lines.join("\n") + "\n"
    }
}

/// Who produces and who consumes a data type, from the capabilities.
fn roles(module: &ModuleDescriptor, data_type: &str) -> Vec<&'static str> {
    let produces = module
        .capabilities
        .iter()
        .any(|c| c.outputs.iter().any(|o| o == data_type));
    let consumes = module
        .capabilities
        .iter()
        .any(|c| c.inputs.iter().any(|i| i == data_type));
    let mut roles = Vec::new();
    if produces {
        roles.push("produces");
    }
    if consumes {
        roles.push("consumes");
    }
    roles
}

/// Data types both modules declare (by name): their shared vocabulary.
fn shared_data_types(source: &ModuleDescriptor, target: &ModuleDescriptor) -> String {
    let mut out = String::new();
    for theirs in &source.data_types {
        let Some(ours) = target.data_types.iter().find(|d| d.name == theirs.name) else {
            continue;
        };
        if out.is_empty() {
            out.push_str("\nData types you both know (use these names):\n");
        }
        let _ = write!(out, "- {}: {}", theirs.name, ours.description.trim());
        for (module, verb) in [
            (source, roles(source, &theirs.name)),
            (target, roles(target, &theirs.name)),
        ] {
            if !verb.is_empty() {
                let _ = write!(out, "; {} {} it", module.name, verb.join(" and "));
            }
        }
        if theirs.description.trim() != ours.description.trim() {
            let _ = write!(
                out,
                " ({} describes it as: {})",
                source.name,
                theirs.description.trim()
            );
        }
        out.push('\n');
    }
    out
}

fn hop_note(chain: &[String]) -> String {
    if chain.len() > 2 {
        format!(
            "\nThis question reached you through {}: it is part of a larger exchange between modules.\n",
            chain.join(" → ")
        )
    } else {
        String::new()
    }
}
