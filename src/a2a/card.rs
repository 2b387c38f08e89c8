//! Agent Cards: one per module, made from its descriptor (description,
//! version, a skill per capability), with the JSON-RPC interface at
//! `/a2a/{module}` and bearer authentication (the daemon's tokens).

use serde_json::{Value, json};

use super::wire::PROTOCOL_VERSION;
use crate::descriptor::ModuleDescriptor;

/// Where the A2A face is mounted.
pub const A2A_PATH: &str = "/a2a";

/// The card's path under an agent's base URL (A2A 1.0, and what the
/// Python SDK's resolver asks for by default).
pub const CARD_PATH: &str = ".well-known/agent-card.json";

/// The card's path in A2A 0.3 (served too, the same card).
pub const OLD_CARD_PATH: &str = ".well-known/agent.json";

/// The name the bearer scheme has in every card.
const SCHEME: &str = "bearer";

/// The base URL of module `name`'s agent, under `origin`
/// (`https://host:port`).
pub fn agent_url(origin: &str, name: &str) -> String {
    format!("{origin}{A2A_PATH}/{name}")
}

/// The Agent Card of a module.
pub fn card(origin: &str, module: &ModuleDescriptor) -> Value {
    let mut skills: Vec<Value> = module
        .capabilities
        .iter()
        .map(|c| {
            json!({
                "id": c.name,
                "name": c.name,
                "description": c.description,
                "tags": if module.tags.is_empty() { vec![module.name.clone()] } else { module.tags.clone() },
                "examples": c.examples,
            })
        })
        .collect();
    if skills.is_empty() {
        // A2A asks for at least one skill: asking the module anything.
        skills.push(json!({
            "id": "ask",
            "name": "ask",
            "description": format!("Ask {} a question about its code and data; its agent answers from its folder.", module.name),
            "tags": [module.name],
        }));
    }
    json!({
        "name": module.name,
        "description": module.description,
        "version": module.version,
        "supportedInterfaces": [{
            "url": agent_url(origin, &module.name),
            "protocolBinding": "JSONRPC",
            "protocolVersion": PROTOCOL_VERSION,
        }, {
            // The same endpoint answers 0.3's method names in 0.3's JSON.
            "url": agent_url(origin, &module.name),
            "protocolBinding": "JSONRPC",
            "protocolVersion": "0.3",
        }],
        // What a 0.3 client reads instead (a 1.0 reader ignores these when
        // supportedInterfaces is there).
        "url": agent_url(origin, &module.name),
        "preferredTransport": "JSONRPC",
        "protocolVersion": "0.3.0",
        "provider": {"organization": "claude-comms", "url": origin},
        "capabilities": {
            "streaming": true,
            "pushNotifications": false,
            "extendedAgentCard": false,
        },
        "securitySchemes": {SCHEME: {"httpAuthSecurityScheme": {
            "scheme": "Bearer",
            "bearerFormat": "claude-comms token (cct_...)",
            "description": "A module token asks as its module; an admin token names the asking module in the message's metadata (\"asker\").",
        }}},
        "securityRequirements": [{"schemes": {SCHEME: {"list": []}}}],
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": skills,
    })
}

/// The directory: every module's card.
pub fn directory(origin: &str, modules: &[ModuleDescriptor]) -> Value {
    let agents: Vec<Value> = modules.iter().map(|m| card(origin, m)).collect();
    json!({ "agents": agents })
}
