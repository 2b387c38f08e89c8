//! The module descriptor: what a module is, what it can do, which data it
//! consumes and produces, and how it relates to other modules.
//!
//! This Rust type is the single source of truth for the published contract
//! `schemas/module-descriptor.schema.json`: the schema file is generated from
//! it (`claude-comms modules schema`) and a test fails when the two drift.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pattern every module and data-type name must match. Lowercase ASCII keeps
/// names safe as file names, URI segments and environment values (no `..`,
/// no `/`), which is why it is stricter than "any identifier".
pub const NAME_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,63}$";

/// A module of the system: a code base that an agent can answer for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ModuleDescriptor")]
pub struct ModuleDescriptor {
    /// Unique name of the module: lowercase letters, digits, `-` and `_`.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub name: String,
    /// Version of the module (or of this descriptor), e.g. `1.2.0`.
    #[schemars(length(min = 1))]
    pub version: String,
    /// One or two sentences on what the module does.
    #[schemars(length(min = 1))]
    pub description: String,
    /// The module's root folder; the answering agent works there. `~` and
    /// `$VAR`/`${VAR}` are expanded. When absent, `module_paths` in the
    /// configuration must name it before the module can be asked anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What the module can do for others.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// The data types named by capabilities' inputs and outputs.
    #[serde(default)]
    pub data_types: Vec<DataType>,
    /// How this module relates to other modules.
    #[serde(default)]
    pub relationships: Vec<Relationship>,
    /// Free-form tags for search, e.g. `storage`, `pdf`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What the answering agent should know: conventions, entry points, caveats.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    /// An A2A agent that answers for this module instead of a Claude agent
    /// in a folder (no `path` then): questions to the module are sent to
    /// it over A2A 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a2a: Option<A2aEndpoint>,
}

/// Where an A2A agent is and how to authenticate to it. The secret itself
/// is never in a descriptor: `token_env` names the environment variable
/// (of the process that asks) holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct A2aEndpoint {
    /// The agent's base URL (its card is at
    /// `<url>/.well-known/agent-card.json`) or its card's URL (ending in
    /// `.json`). `https://`, or `http://` on a loopback address only.
    #[schemars(length(min = 1))]
    pub url: String,
    /// The environment variable holding the bearer token to send, if the
    /// agent wants one, such as `VENDOR_A2A_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// In a fleet, the one node that asks this agent (the node whose network
    /// reaches it, or whose environment holds its token), such as `node-b`:
    /// the other nodes route their questions to it. Without it, any node
    /// asks the agent itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// Something a module can do, described by the data it takes and gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capability {
    /// Name of the capability, unique within the module.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub name: String,
    /// What the capability does.
    #[schemars(length(min = 1))]
    pub description: String,
    /// Names of the data types it consumes (each declared in `data_types`).
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Names of the data types it produces (each declared in `data_types`).
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Example requests, in the words another module would use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

/// A kind of data that flows between modules. Data types are matched across
/// modules by name: two modules that both declare `markdown_document` speak
/// of the same thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataType {
    /// Name of the data type.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub name: String,
    /// What the data is.
    #[schemars(length(min = 1))]
    pub description: String,
    /// Optional JSON Schema of the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
}

/// A directed relationship from this module to another one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Relationship {
    /// Name of the other module.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub module: String,
    /// How this module relates to it.
    pub kind: RelationshipKind,
    /// What flows between them, in a sentence.
    #[serde(default)]
    pub description: String,
}

/// The kinds of relationship between two modules, seen from the declaring one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipKind {
    /// This module needs the other one to work.
    DependsOn,
    /// This module's output goes to the other one.
    ProvidesTo,
    /// This module takes the other one's output.
    ConsumesFrom,
    /// The two work side by side.
    Peer,
}

impl RelationshipKind {
    /// The same relationship seen from the other module.
    pub fn inverse(self) -> RelationshipKind {
        match self {
            RelationshipKind::DependsOn => RelationshipKind::DependsOn,
            RelationshipKind::ProvidesTo => RelationshipKind::ConsumesFrom,
            RelationshipKind::ConsumesFrom => RelationshipKind::ProvidesTo,
            RelationshipKind::Peer => RelationshipKind::Peer,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RelationshipKind::DependsOn => "depends_on",
            RelationshipKind::ProvidesTo => "provides_to",
            RelationshipKind::ConsumesFrom => "consumes_from",
            RelationshipKind::Peer => "peer",
        }
    }
}

impl ModuleDescriptor {
    /// Names of every data type produced by any capability.
    pub fn produced_types(&self) -> impl Iterator<Item = &str> {
        self.capabilities
            .iter()
            .flat_map(|c| c.outputs.iter().map(String::as_str))
    }

    /// Names of every data type consumed by any capability.
    pub fn consumed_types(&self) -> impl Iterator<Item = &str> {
        self.capabilities
            .iter()
            .flat_map(|c| c.inputs.iter().map(String::as_str))
    }

    pub fn data_type(&self, name: &str) -> Option<&DataType> {
        self.data_types.iter().find(|d| d.name == name)
    }
}

/// The JSON Schema of [`ModuleDescriptor`], as published in `schemas/`.
#[expect(
    clippy::expect_used,
    reason = "a schema generated by schemars is a JSON value by construction"
)]
pub fn descriptor_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(ModuleDescriptor))
        .expect("a generated schema is always JSON");
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            "https://claude-comms.dev/schemas/module-descriptor.schema.json".into(),
        );
    }
    schema
}

/// The published schema text, pretty-printed with a trailing newline.
#[expect(
    clippy::expect_used,
    reason = "pretty-printing a serde_json::Value cannot fail"
)]
pub fn descriptor_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&descriptor_schema()).expect("schema is JSON");
    text.push('\n');
    text
}
