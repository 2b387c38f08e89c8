//! Turning a file's text into a checked [`ModuleDescriptor`], with errors
//! that name the file, the field path and the reason.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use super::model::{ModuleDescriptor, descriptor_schema};

/// One thing wrong with a descriptor, at a field path such as
/// `capabilities[2].outputs[0]` (empty for the document as a whole).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one descriptor source (a file, or a tool argument).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub struct DescriptorError {
    /// Where the descriptor came from, e.g. `descriptors/marker.yaml`.
    pub source_name: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}: {p}", self.source_name)?;
        }
        Ok(())
    }
}

impl DescriptorError {
    pub(super) fn single(source_name: &str, path: &str, message: impl Into<String>) -> Self {
        DescriptorError {
            source_name: source_name.to_string(),
            problems: vec![Problem {
                path: path.to_string(),
                message: message.into(),
            }],
        }
    }
}

/// The text formats a descriptor file can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// The format a file name implies, or `None` for files we do not read.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Format::Yaml)
        } else if lower.ends_with(".json") {
            Some(Format::Json)
        } else {
            None
        }
    }
}

/// Deepest nesting of lists and maps a descriptor may have (the document
/// itself is level 1). Deep enough for any real data-type schema; the same
/// number the YAML parser allowed before it was written down here.
pub const MAX_DEPTH: usize = 64;

/// Most nodes (lists, maps, keys and values, counted the way the YAML parser
/// counts them) a descriptor may have: the YAML parser's own default budget.
pub const MAX_NODES: usize = 250_000;

/// The YAML parser's own budget: well above [`MAX_DEPTH`] and [`MAX_NODES`]
/// so that our check, which names the limits, is the one that speaks; the
/// parser's budget only bounds the work on absurd input.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH * 2;
    budget.max_nodes = MAX_NODES * 2;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Parses and fully validates one descriptor text.
pub fn parse_descriptor(
    source_name: &str,
    text: &str,
    format: Format,
) -> Result<ModuleDescriptor, DescriptorError> {
    validate_value(source_name, &parse_value(source_name, text, format)?)
}

/// Parses a descriptor shipped inside the binary ([`super::BUILTIN_DESCRIPTORS`])
/// without checking it against the schema: those texts cannot change after
/// the build, and a test checks each with [`parse_descriptor`]. Compiling
/// the schema validator and the shipped data types' schemas at every start
/// was start-up time spent proving the build right again (issue 22); the
/// validator is compiled when a user's or an extra descriptor needs it.
pub(crate) fn parse_shipped(
    source_name: &str,
    text: &str,
    format: Format,
) -> Result<ModuleDescriptor, DescriptorError> {
    let value = parse_value(source_name, text, format)?;
    serde_json::from_value(value)
        .map_err(|e| DescriptorError::single(source_name, "", e.to_string()))
}

/// Parses a descriptor text into a JSON value, with the loader's limits on
/// the parser, without validating it.
pub fn parse_value(
    source_name: &str,
    text: &str,
    format: Format,
) -> Result<serde_json::Value, DescriptorError> {
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| {
            // serde_json stops at 128 levels, before our own check could count them.
            let limit = if e.to_string().contains("recursion limit") {
                format!(" (descriptors may nest at most {MAX_DEPTH} levels)")
            } else {
                String::new()
            };
            DescriptorError::single(
                source_name,
                "",
                format!(
                    "not valid JSON (line {}, column {}): {e}{limit}",
                    e.line(),
                    e.column()
                ),
            )
        }),
        Format::Yaml => serde_saphyr::from_str_with_options(text, yaml_options())
            .map_err(|e| DescriptorError::single(source_name, "", format!("not valid YAML: {e}"))),
    }
}

/// Validates a descriptor given as a JSON value (a file's parsed contents, or
/// the `descriptor` argument of the `register_module` tool).
pub fn validate_value(
    source_name: &str,
    value: &serde_json::Value,
) -> Result<ModuleDescriptor, DescriptorError> {
    check_size(source_name, value)?;
    let mut problems: Vec<Problem> = schema_validator()
        .iter_errors(value)
        .map(|e| Problem {
            path: field_path(e.instance_path().segments()),
            message: e.to_string(),
        })
        .collect();
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        problems.dedup();
        return Err(DescriptorError {
            source_name: source_name.to_string(),
            problems,
        });
    }
    let descriptor: ModuleDescriptor = serde_json::from_value(value.clone())
        // The schema is generated from the type, so this only fails if the two disagree.
        .map_err(|e| DescriptorError::single(source_name, "", e.to_string()))?;
    problems = semantic_problems(&descriptor);
    if problems.is_empty() {
        Ok(descriptor)
    } else {
        Err(DescriptorError {
            source_name: source_name.to_string(),
            problems,
        })
    }
}

/// Refuses a descriptor nested deeper than [`MAX_DEPTH`] or larger than
/// [`MAX_NODES`]. Every descriptor passes here, whether a file is loaded or a
/// client registers one, so `register` never saves what the loader refuses.
fn check_size(source_name: &str, value: &serde_json::Value) -> Result<(), DescriptorError> {
    let (mut nodes, mut deepest) = (0usize, 0usize);
    // Iterative, so that the check itself cannot overflow the stack.
    let mut stack: Vec<(&serde_json::Value, usize)> = vec![(value, 0)];
    while let Some((v, depth)) = stack.pop() {
        nodes += 1;
        match v {
            serde_json::Value::Array(items) => {
                deepest = deepest.max(depth + 1);
                stack.extend(items.iter().map(|i| (i, depth + 1)));
            }
            serde_json::Value::Object(map) => {
                deepest = deepest.max(depth + 1);
                nodes += map.len(); // the keys
                stack.extend(map.values().map(|i| (i, depth + 1)));
            }
            _ => {}
        }
        if nodes > MAX_NODES {
            return Err(DescriptorError::single(
                source_name,
                "",
                format!(
                    "too large: more than {MAX_NODES} nodes (lists, maps, keys and values); descriptors are limited to {MAX_NODES}"
                ),
            ));
        }
    }
    if deepest > MAX_DEPTH {
        return Err(DescriptorError::single(
            source_name,
            "",
            format!(
                "nested {deepest} levels deep; descriptors may nest at most {MAX_DEPTH} levels of lists and maps"
            ),
        ));
    }
    Ok(())
}

/// Rules a JSON Schema cannot express: uniqueness and cross references
/// inside one descriptor.
fn semantic_problems(d: &ModuleDescriptor) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |path: String, message: String| problems.push(Problem { path, message });

    let mut seen = HashSet::new();
    for (i, t) in d.data_types.iter().enumerate() {
        if !seen.insert(t.name.as_str()) {
            push(
                format!("data_types[{i}].name"),
                format!("duplicate data type \"{}\"", t.name),
            );
        }
        if let Some(schema) = &t.schema
            && let Err(e) = jsonschema::validator_for(schema)
        {
            push(
                format!("data_types[{i}].schema"),
                format!("not a valid JSON Schema: {e}"),
            );
        }
    }
    let declared: HashSet<&str> = d.data_types.iter().map(|t| t.name.as_str()).collect();

    let mut seen = HashSet::new();
    for (i, c) in d.capabilities.iter().enumerate() {
        if !seen.insert(c.name.as_str()) {
            push(
                format!("capabilities[{i}].name"),
                format!("duplicate capability \"{}\"", c.name),
            );
        }
        for (field, names) in [("inputs", &c.inputs), ("outputs", &c.outputs)] {
            for (j, name) in names.iter().enumerate() {
                if !declared.contains(name.as_str()) {
                    push(
                        format!("capabilities[{i}].{field}[{j}]"),
                        format!("unknown data type \"{name}\" (declare it under data_types)"),
                    );
                }
            }
        }
    }

    if let Some(a2a) = &d.a2a {
        if d.path.is_some() {
            push(
                "a2a".into(),
                "a module is answered by an agent in its folder (path) or by an A2A agent (a2a), not both: remove one".into(),
            );
        }
        if let Some(problem) = a2a_url_problem(&a2a.url) {
            push("a2a.url".into(), format!("\"{}\": {problem}", a2a.url));
        }
        if let Some(node) = &a2a.node
            && (node.is_empty()
                || node.len() > 64
                || !node
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            push(
                "a2a.node".into(),
                format!("\"{node}\" is not a node name (1-64 letters, digits, '-', '_' or '.')"),
            );
        }
        if let Some(name) = &a2a.token_env {
            let is_name = name.len() <= 128
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if name.starts_with("cct_") || name.len() > 128 {
                push(
                    "a2a.token_env".into(),
                    "this looks like a token, not the name of an environment variable: never put a secret in a descriptor; put it in a variable and name the variable here".into(),
                );
            } else if !is_name {
                push(
                    "a2a.token_env".into(),
                    format!(
                        "\"{name}\" is not an environment variable's name (letters, digits and _, not starting with a digit)"
                    ),
                );
            }
        }
    }

    for (i, r) in d.relationships.iter().enumerate() {
        if r.module == d.name {
            push(
                format!("relationships[{i}].module"),
                "a module cannot have a relationship with itself".to_string(),
            );
        }
    }
    problems
}

/// What is wrong with an A2A agent's URL, if anything: it must be
/// `https://`, or `http://` on a loopback address (a token and answers
/// must not cross a network in clear), and carry no credentials.
pub fn a2a_url_problem(url: &str) -> Option<String> {
    let (plain, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (true, rest)
    } else {
        return Some(
            "not an http(s) URL: write https://host/... (http:// only on a loopback address)"
                .into(),
        );
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Some(
            "a URL with credentials: name the token's variable in token_env instead".into(),
        );
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Some("the URL names no host".into());
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if plain && !loopback {
        return Some(format!(
            "plain http:// to {host}, which is not a loopback address: the token and the answers would cross the network in clear; use https://"
        ));
    }
    None
}

#[expect(
    clippy::expect_used,
    reason = "the generated schema is checked against the published one by a test; it always compiles"
)]
fn schema_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(&descriptor_schema()).expect("the generated schema compiles")
    })
}

/// `/capabilities/2/outputs/0` -> `capabilities[2].outputs[0]`.
fn field_path<'a>(
    segments: impl Iterator<Item = jsonschema::paths::LocationSegment<'a>>,
) -> String {
    use jsonschema::paths::LocationSegment;
    let mut out = String::new();
    for segment in segments {
        match segment {
            LocationSegment::Index(i) => out.push_str(&format!("[{i}]")),
            LocationSegment::Property(p) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&p);
            }
        }
    }
    out
}
