//! Tools over the module registry: `list_modules`, `describe_module`,
//! `register_module`, `find_consumers`.

use std::fmt::Write;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{hub_failure, structured};
use crate::descriptor::{ModuleFilter, RegisterFrom};
use crate::hub::{ConsumerList, ModuleDetails, ModuleList, RegisterOutcome};
use crate::mcp::comms_server::CommsServer;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeModuleArgs {
    /// Name of the module, e.g. `marker`.
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterModuleArgs {
    /// The module descriptor, an object in the shape of
    /// `schemas/module-descriptor.schema.json` (name, version, description,
    /// path, capabilities, data_types, relationships, tags, context).
    pub descriptor: serde_json::Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindConsumersArgs {
    /// The producing module.
    pub module: String,
    /// Only consumers of this data type (one the module produces).
    #[serde(default)]
    pub data_type: Option<String>,
}

#[tool_router(router = module_tools, vis = "pub(crate)")]
impl CommsServer {
    #[tool(
        description = "List the modules claude-comms knows, optionally filtered by tag, capability, data type or free text. Also reports descriptor files that failed to load.",
        output_schema = schema_for_output::<ModuleList>(),
        annotations(read_only_hint = true)
    )]
    async fn list_modules(
        &self,
        Parameters(filter): Parameters<ModuleFilter>,
    ) -> Result<CallToolResult, McpError> {
        let list = self.hub().modules().list(&filter);
        let mut text = format!("{} module(s)", list.modules.len());
        for m in &list.modules {
            let _ = write!(text, "\n- {} {}: {}", m.name, m.version, m.description);
        }
        for e in &list.load_errors {
            let _ = write!(text, "\nload error: {e}");
        }
        for w in &list.warnings {
            let _ = write!(text, "\nwarning: {w}");
        }
        structured(text, &list)
    }

    #[tool(
        description = "Show one module's full descriptor: capabilities, data types, relationships, context, and the folder its agent works in.",
        output_schema = schema_for_output::<ModuleDetails>(),
        annotations(read_only_hint = true)
    )]
    async fn describe_module(
        &self,
        Parameters(args): Parameters<DescribeModuleArgs>,
    ) -> Result<CallToolResult, McpError> {
        match self.hub().modules().describe(&args.name) {
            Ok(details) => {
                let d = &details.descriptor;
                let mut text = format!(
                    "{} {} ({}): {}",
                    d.name, d.version, details.origin, d.description
                );
                for c in &d.capabilities {
                    let _ = write!(
                        text,
                        "\n- {}({}) -> {}: {}",
                        c.name,
                        c.inputs.join(", "),
                        c.outputs.join(", "),
                        c.description
                    );
                }
                if let Some(e) = &details.folder_error {
                    let _ = write!(text, "\nfolder: {e}");
                }
                for w in &details.warnings {
                    let _ = write!(text, "\nwarning: {w}");
                }
                let p = &details.policy;
                let _ = write!(
                    text,
                    "\npermissions: {} ({}): {}",
                    p.policy.mode.as_str(),
                    p.policy.from,
                    p.summary
                );
                if let Some(warning) = &p.warning {
                    let _ = write!(text, "\nwarning: {warning}");
                }
                structured(text, &details)
            }
            Err(e) => Ok(hub_failure(e)),
        }
    }

    #[tool(
        description = "Register (or replace) a module descriptor. It is validated against the descriptor schema and the loader's size limits and saved in the user's descriptor folder, so it survives restarts and every claude-comms process on the same data folder sees it; errors name the field and the reason. `path` must be an absolute folder (or under ~/), written out: `$VAR` is not expanded, and `/`, system folders and the home folder itself are refused.",
        output_schema = schema_for_output::<RegisterOutcome>()
    )]
    async fn register_module(
        &self,
        Parameters(args): Parameters<RegisterModuleArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        match self
            .hub()
            .modules()
            .register(args.descriptor, RegisterFrom::Client)
            .await
        {
            Ok(outcome) => {
                let mut text = format!("registered {} in {}", outcome.name, outcome.file);
                if let Some(old) = &outcome.replaced_file {
                    let _ = write!(text, " (replacing {old})");
                }
                for w in &outcome.warnings {
                    let _ = write!(text, "\nwarning: {w}");
                }
                // The module list is a resource list: tell the host it changed.
                let _ = ctx.peer.notify_resource_list_changed().await;
                structured(text, &outcome)
            }
            Err(e) => Ok(hub_failure(e)),
        }
    }

    #[tool(
        description = "Find the modules that can consume what a module produces, through shared data types and declared relationships.",
        output_schema = schema_for_output::<ConsumerList>(),
        annotations(read_only_hint = true)
    )]
    async fn find_consumers(
        &self,
        Parameters(args): Parameters<FindConsumersArgs>,
    ) -> Result<CallToolResult, McpError> {
        match self
            .hub()
            .modules()
            .consumers(&args.module, args.data_type.as_deref())
        {
            Ok(list) => {
                let mut text = format!("{} consumer(s) of {}", list.consumers.len(), list.module);
                for c in &list.consumers {
                    let _ = write!(
                        text,
                        "\n- {}: data types [{}]; {}",
                        c.module,
                        c.data_types.join(", "),
                        c.relationships.join("; ")
                    );
                }
                structured(text, &list)
            }
            Err(e) => Ok(hub_failure(e)),
        }
    }
}
