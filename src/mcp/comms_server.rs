//! The MCP server's state: the hub, the tool router assembled from the
//! per-concern tool files (`tools/`), the compiled argument checks and the
//! resource subscriptions. The tool files add their methods to it; the
//! handler in `server.rs` answers requests with it.

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::CallToolRequestParams;

use super::subscriptions::Subscriptions;
use crate::hub::Hub;

#[derive(Clone)]
pub struct CommsServer {
    pub(super) hub: Arc<Hub>,
    pub(super) tool_router: ToolRouter<CommsServer>,
    /// One compiled validator per tool input schema, built once at start.
    argument_checks: Arc<HashMap<String, jsonschema::Validator>>,
    pub(super) subscriptions: Arc<Subscriptions>,
}

impl CommsServer {
    pub fn new(hub: Arc<Hub>) -> CommsServer {
        let tool_router = Self::module_tools()
            + Self::conversation_tools()
            + Self::instance_tools()
            + Self::job_tools()
            + Self::answer_tools()
            + Self::stats_tools();
        let argument_checks = tool_router
            .list_all()
            .into_iter()
            .filter_map(|tool| {
                let mut schema = serde_json::Value::Object(tool.input_schema.as_ref().clone());
                bound_integers(&mut schema);
                match jsonschema::validator_for(&schema) {
                    Ok(v) => Some((tool.name.to_string(), v)),
                    Err(e) => {
                        tracing::error!(tool = %tool.name, error = %e, "tool input schema does not compile");
                        None
                    }
                }
            })
            .collect();
        CommsServer {
            hub,
            tool_router,
            argument_checks: Arc::new(argument_checks),
            subscriptions: Arc::default(),
        }
    }

    /// Checks a call's arguments against the tool's input schema, so that a
    /// bad call is answered with the field and the reason (serde alone says
    /// "invalid type" without naming the field).
    pub(super) fn argument_problems(&self, request: &CallToolRequestParams) -> Option<String> {
        let validator = self.argument_checks.get(request.name.as_ref())?;
        let arguments = serde_json::Value::Object(request.arguments.clone().unwrap_or_default());
        let problems: Vec<String> = validator
            .iter_errors(&arguments)
            .map(|e| {
                let path = e
                    .instance_path()
                    .as_str()
                    .trim_start_matches('/')
                    .replace('/', ".");
                if path.is_empty() {
                    format!("arguments: {e}")
                } else {
                    format!("argument `{path}`: {e}")
                }
            })
            .collect();
        (!problems.is_empty()).then(|| {
            format!(
                "invalid arguments for tool {}:\n{}",
                request.name,
                problems.join("\n")
            )
        })
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }
}

/// Gives every integer in a schema the range of the Rust type behind it
/// (schemars writes it as `format` only, which validators do not check),
/// capped at 64 signed bits, what the store keeps. Without this a value
/// such as 2^64 passed the schema and failed later in serde with a message
/// that did not name the argument.
fn bound_integers(schema: &mut serde_json::Value) {
    use serde_json::{Value, json};
    match schema {
        Value::Object(object) => {
            let is_integer = match object.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
                _ => false,
            };
            if is_integer {
                let (min, max): (i64, i64) = match object.get("format").and_then(Value::as_str) {
                    Some("int8") => (i8::MIN.into(), i8::MAX.into()),
                    Some("uint8") => (0, u8::MAX.into()),
                    Some("int16") => (i16::MIN.into(), i16::MAX.into()),
                    Some("uint16") => (0, u16::MAX.into()),
                    Some("int32") => (i32::MIN.into(), i32::MAX.into()),
                    Some("uint32") => (0, u32::MAX.into()),
                    Some("uint" | "uint64" | "uint128") => (0, i64::MAX),
                    _ => (i64::MIN, i64::MAX),
                };
                let current_min = object.get("minimum").and_then(Value::as_f64);
                if current_min.is_none_or(|existing| existing < min as f64) {
                    object.insert("minimum".into(), json!(min));
                }
                let current_max = object.get("maximum").and_then(Value::as_f64);
                if current_max.is_none_or(|existing| existing > max as f64) {
                    object.insert("maximum".into(), json!(max));
                }
            }
            object.values_mut().for_each(bound_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use rmcp::handler::server::common::{schema_for_empty_input, schema_for_type};

    use super::CommsServer;
    use crate::hub::daemon_ops::{
        CANCEL_JOB, INSTANCE_STATUS, LIST_INSTANCES, SEND_MESSAGE, START_INSTANCE,
    };

    /// What the hub asks of its daemon is a tool the daemon serves, taking
    /// exactly the argument type the hub sends: the two cannot drift.
    #[test]
    fn every_daemon_operation_is_a_tool_that_takes_its_argument_type() {
        let router = CommsServer::conversation_tools()
            + CommsServer::instance_tools()
            + CommsServer::job_tools();
        let schema = |tool: &str| {
            router
                .get(tool)
                .unwrap_or_else(|| panic!("the daemon serves no tool {tool}"))
                .input_schema
                .clone()
        };
        // The tool macro leaves out the type's name ("title"); the rest of
        // the schema (fields, types, bounds, descriptions) must be equal.
        let untitled = |schema: std::sync::Arc<rmcp::model::JsonObject>| {
            let mut schema = (*schema).clone();
            schema.remove("title");
            std::sync::Arc::new(schema)
        };
        assert_eq!(
            schema(SEND_MESSAGE.tool),
            untitled(schema_for_type::<crate::hub::daemon_ops::SendMessageArgs>())
        );
        assert_eq!(
            schema(START_INSTANCE.tool),
            untitled(schema_for_type::<crate::hub::daemon_ops::StartInstanceArgs>())
        );
        assert_eq!(
            schema(INSTANCE_STATUS.tool),
            untitled(schema_for_type::<crate::hub::daemon_ops::InstanceIdArgs>())
        );
        assert_eq!(
            schema(CANCEL_JOB.tool),
            untitled(schema_for_type::<crate::hub::daemon_ops::JobIdArgs>())
        );
        assert_eq!(schema(LIST_INSTANCES.tool), schema_for_empty_input());
    }
}
