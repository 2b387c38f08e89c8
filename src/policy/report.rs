//! What an operator is told about the permission policies: each module's
//! effective policy, `full` modules as warnings, and the deprecated stream
//! settings that no longer widen anything.

use serde::{Deserialize, Serialize};

use super::{Mode, PolicyView};
use crate::config::Config;

/// One module's effective policy, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModulePolicyView {
    pub module: String,
    #[serde(flatten)]
    pub view: PolicyView,
}

/// The effective policy of every module in `modules` and of every module
/// the `[permissions]` table names, sorted by name.
pub fn policies(
    config: &Config,
    modules: impl IntoIterator<Item = String>,
) -> Vec<ModulePolicyView> {
    let p = &config.permissions;
    let mut names: Vec<String> = modules
        .into_iter()
        .chain(p.modules.keys().cloned())
        .chain(p.rules.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|module| ModulePolicyView {
            view: p.policy_for(&module).view(),
            module,
        })
        .collect()
}

/// What the operator should look at: `full` modules, policies for unknown
/// modules, and deprecated settings.
pub fn warnings(config: &Config, known_modules: &[String]) -> Vec<String> {
    let mut out: Vec<String> = policies(config, known_modules.iter().cloned())
        .into_iter()
        .filter_map(|m| m.view.warning.map(|w| format!("module {}: {w}", m.module)))
        .collect();
    let p = &config.permissions;
    for name in p.modules.keys().chain(p.rules.keys()) {
        if !known_modules.contains(name) {
            out.push(format!(
                "permissions: \"{name}\" is not a known module; its policy applies if one is registered under that name"
            ));
        }
    }
    let stream = &config.instances.claude_stream;
    if !stream.skip_permissions_modules.is_empty() {
        out.push(format!(
            "instances.claude_stream.skip_permissions_modules is deprecated and has no effect ({}): a module's agent skips permissions only when [permissions.modules] sets it to \"full\"",
            stream.skip_permissions_modules.join(", ")
        ));
    }
    if !stream.allowed_tools.is_empty() || stream.permission_mode.is_some() {
        let full: Vec<String> = policies(config, known_modules.iter().cloned())
            .into_iter()
            .filter(|m| m.view.policy.mode == Mode::Full)
            .map(|m| m.module)
            .collect();
        out.push(format!(
            "instances.claude_stream.allowed_tools / permission_mode are deprecated: they apply only to \"full\" modules ({}); every other module follows [permissions]",
            if full.is_empty() { "none".to_string() } else { full.join(", ") }
        ));
    }
    out
}
