//! The prompt templates: built in (src/context/templates/*.md), or
//! overridden by a file of the same name in the config folder's
//! `templates/`. A template is plain text with `{{placeholder}}`s; each
//! has a version that is stored with every message it renders.

use std::collections::BTreeMap;
use std::path::Path;

use super::ContextError;

/// Bumped whenever a built-in template's text changes.
const BUILTIN_VERSION: u32 = 1;

/// Placeholders every prompt template may use.
const PROMPT_PLACEHOLDERS: &[&str] = &[
    "target_name",
    "target_version",
    "target_description",
    "target_folder",
    "target_capabilities",
    "target_context",
    "source_name",
    "source_description",
    "source_capabilities",
    "relationships",
    "shared_data_types",
    "hop_note",
    "conversation_id",
    "history",
    "message",
];
const REPLY_PLACEHOLDERS: &[&str] = &["target_name", "source_name", "conversation_id", "reply"];
const ERROR_PLACEHOLDERS: &[&str] = &["target_name", "source_name", "conversation_id", "error"];

/// Every template: name, built-in text, allowed placeholders.
const TEMPLATES: &[(&str, &str, &[&str])] = &[
    (
        "first_query",
        include_str!("templates/first_query.md"),
        PROMPT_PLACEHOLDERS,
    ),
    (
        "follow_up",
        include_str!("templates/follow_up.md"),
        PROMPT_PLACEHOLDERS,
    ),
    (
        "new_turn",
        include_str!("templates/new_turn.md"),
        PROMPT_PLACEHOLDERS,
    ),
    (
        "reply_framing",
        include_str!("templates/reply_framing.md"),
        REPLY_PLACEHOLDERS,
    ),
    (
        "error_explanation",
        include_str!("templates/error_explanation.md"),
        ERROR_PLACEHOLDERS,
    ),
];

#[derive(Debug, Clone)]
pub(super) struct Template {
    pub name: &'static str,
    pub text: String,
    pub version: String,
}

#[derive(Debug, Clone)]
pub(super) struct Templates {
    by_name: BTreeMap<&'static str, Template>,
}

impl Templates {
    pub fn builtin() -> Templates {
        Templates {
            by_name: TEMPLATES
                .iter()
                .map(|(name, text, _)| {
                    (
                        *name,
                        Template {
                            name,
                            text: (*text).to_string(),
                            version: format!("{name}@{BUILTIN_VERSION}"),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The built-ins, with `<dir>/<name>.md` replacing a template where such
    /// a file exists. An override that uses an unknown placeholder is an
    /// error naming the file and the placeholder.
    pub fn with_overrides(dir: &Path) -> Result<Templates, ContextError> {
        let mut templates = Templates::builtin();
        let entries = std::fs::read_dir(dir).map_err(|e| ContextError::Template {
            file: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let known = TEMPLATES.iter().find(|(name, _, _)| *name == stem);
            let (Some((name, _, allowed)), Some("md")) =
                (known, path.extension().and_then(|e| e.to_str()))
            else {
                tracing::warn!(file = %path.display(), "not a template name (first_query, follow_up, new_turn, reply_framing, error_explanation with .md); ignored");
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| ContextError::Template {
                file: path.display().to_string(),
                reason: e.to_string(),
            })?;
            for placeholder in placeholders(&text) {
                if !allowed.contains(&placeholder) {
                    return Err(ContextError::Template {
                        file: path.display().to_string(),
                        reason: format!(
                            "unknown placeholder {{{{{placeholder}}}}} (allowed: {})",
                            allowed.join(", ")
                        ),
                    });
                }
            }
            let version = format!("{name}@override-{:08x}", fnv1a(text.as_bytes()) as u32);
            templates.by_name.insert(
                name,
                Template {
                    name,
                    text,
                    version,
                },
            );
        }
        Ok(templates)
    }

    #[expect(
        clippy::expect_used,
        reason = "callers name templates from the built-in list, which the constructor loads whole"
    )]
    pub fn get(&self, name: &str) -> &Template {
        self.by_name
            .get(name)
            .expect("every template name has a built-in")
    }

    pub fn versions(&self) -> Vec<(&'static str, String)> {
        self.by_name
            .values()
            .map(|t| (t.name, t.version.clone()))
            .collect()
    }
}

impl Template {
    /// Substitutes each `{{name}}` with `values[name]` (empty if absent).
    pub fn render(&self, values: &BTreeMap<&str, String>) -> String {
        let mut out = String::with_capacity(self.text.len() + 256);
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find("}}") {
                Some(end) => {
                    if let Some(value) = values.get(after[..end].trim()) {
                        out.push_str(value);
                    }
                    rest = &after[end + 2..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// The placeholder names a template text uses.
fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        found.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    found
}

/// 64-bit FNV-1a: a stable hash (unlike `DefaultHasher`, which may change
/// between Rust releases) for template versions.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
pub(super) fn builtin_placeholders_are_allowed() -> bool {
    TEMPLATES
        .iter()
        .all(|(_, text, allowed)| placeholders(text).iter().all(|p| allowed.contains(p)))
}
