//! The operations a routed hub asks its daemon to carry out, each defined
//! once: the daemon's MCP tool that carries it, its argument type and its
//! result type. The daemon's tools deserialize the very argument types the
//! hub serializes here, so a renamed or retyped field breaks the build on
//! both sides at once, and the hub never spells a tool's name or builds its
//! JSON by hand (a unit test of the MCP server checks that each operation's
//! tool exists and takes exactly this argument type's schema). A failure
//! travels typed too ([`DaemonFailure`]).

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Argument, HubError, JobStatus, SendOutcome, Thing};
use crate::config::BackendKind;
use crate::instances::{InstanceError, InstanceStatus};

/// One operation the daemon carries out for a routed hub.
pub struct DaemonOp<Args, Output> {
    /// The daemon's MCP tool that carries it.
    pub tool: &'static str,
    types: PhantomData<fn(Args) -> Output>,
}

impl<Args: Serialize, Output: DeserializeOwned> DaemonOp<Args, Output> {
    const fn carried_by(tool: &'static str) -> Self {
        DaemonOp {
            tool,
            types: PhantomData,
        }
    }
}

/// Ask a module (the daemon's children answer).
pub const SEND_MESSAGE: DaemonOp<SendMessageArgs, SendOutcome> =
    DaemonOp::carried_by("send_message");
/// Start an instance in the daemon.
pub const START_INSTANCE: DaemonOp<StartInstanceArgs, InstanceStatus> =
    DaemonOp::carried_by("start_instance");
/// One of the daemon's instances.
pub const INSTANCE_STATUS: DaemonOp<InstanceIdArgs, InstanceStatus> =
    DaemonOp::carried_by("instance_status");
/// The daemon's instances.
pub const LIST_INSTANCES: DaemonOp<NoArguments, InstanceList> =
    DaemonOp::carried_by("list_instances");
/// Cancel a job the daemon carries.
pub const CANCEL_JOB: DaemonOp<JobIdArgs, JobStatus> = DaemonOp::carried_by("cancel_job");

/// The arguments of a tool that takes none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct NoArguments {}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageArgs {
    /// The asking module. Defaults to the module this server was started for
    /// (`serve --module`); taken from the conversation when one is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The module to ask. Required unless `conversation_id` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The question or request, in the asking module's own terms.
    pub message: String,
    /// Continue this conversation (its history goes to the answering agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Seconds to wait for the answer, counted from dispatch to an agent
    /// (default: instances.request_timeout_s).
    #[serde(default)]
    #[schemars(range(min = 1, max = 86400))]
    pub timeout_s: Option<u64>,
    /// A key unique to this message within the conversation: resending with
    /// the same key returns the first answer instead of asking again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// `false`: store the question and return its `message_id` at once
    /// (status `pending`); the server carries it to its end, and
    /// `get_reply` collects the answer. Default `true`: wait for the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
    /// `unchanged`: if the same question (same asker and target, same text
    /// once whitespace is normalised) was answered at the module's current
    /// commit with a clean tree, under the same policy, return that answer
    /// at once (`reused: true`, nothing spent). Default `never`: always ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse: Option<super::Reuse>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceIdArgs {
    /// Id of the instance, as shown by `list_instances`.
    pub instance_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInstanceArgs {
    /// Backend: `claude-code-mcp` (default) or `claude-stream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendKind>,
    /// Module the instance answers for. Its child is started with the
    /// profile (hop context) of queries from `source` to this module, so it
    /// serves that pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The asking module of that pair; defaults to this server's module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The pair as `SOURCE:TARGET` (instead of `module` and `source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    /// A name every instance tool accepts instead of the id. A name that
    /// reads `SOURCE_TARGET` of two known modules binds that pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The instances of this server.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct InstanceList {
    pub instances: Vec<InstanceStatus>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobIdArgs {
    /// The job's id (or its first 8+ characters).
    pub message_id: String,
}

/// The `_meta` key under which a failed tool result carries its
/// [`DaemonFailure`].
pub const FAILURE_META: &str = "claude-comms/error";

/// A failure as a failed tool result carries it (in `_meta`, under
/// [`FAILURE_META`], next to the text for the model), so a routed hub
/// rebuilds the very [`HubError`] the daemon returned and its faces
/// branch on it as they would in process. Failures that no face treats
/// apart travel as their text alone ([`HubError::Daemon`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DaemonFailure {
    BadArgument {
        argument: Argument,
        problem: String,
    },
    MissingArgument {
        argument: Argument,
    },
    NotFound {
        thing: Thing,
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        module: Option<String>,
    },
    QueryFailed {
        explanation: String,
        reason: String,
        conversation_id: String,
        message_id: String,
    },
    OverBudget {
        text: String,
    },
    Instance {
        error: InstanceError,
    },
}

impl DaemonFailure {
    /// How `error` travels, if a face may branch on it.
    pub fn of(error: &HubError) -> Option<DaemonFailure> {
        Some(match error {
            HubError::BadArgument { argument, problem } => DaemonFailure::BadArgument {
                argument: *argument,
                problem: problem.clone(),
            },
            HubError::MissingArgument { argument } => DaemonFailure::MissingArgument {
                argument: *argument,
            },
            HubError::NotFound { thing, id, module } => DaemonFailure::NotFound {
                thing: *thing,
                id: id.clone(),
                module: module.clone(),
            },
            HubError::QueryFailed {
                explanation,
                reason,
                conversation_id,
                message_id,
            } => DaemonFailure::QueryFailed {
                explanation: explanation.clone(),
                reason: reason.clone(),
                conversation_id: conversation_id.clone(),
                message_id: message_id.clone(),
            },
            HubError::OverBudget(text) => DaemonFailure::OverBudget { text: text.clone() },
            HubError::Instance(error) => DaemonFailure::Instance {
                error: error.clone(),
            },
            _ => return None,
        })
    }

    /// The error the daemon returned, rebuilt.
    pub fn into_error(self) -> HubError {
        match self {
            DaemonFailure::BadArgument { argument, problem } => {
                HubError::BadArgument { argument, problem }
            }
            DaemonFailure::MissingArgument { argument } => HubError::MissingArgument { argument },
            DaemonFailure::NotFound { thing, id, module } => {
                HubError::NotFound { thing, id, module }
            }
            DaemonFailure::QueryFailed {
                explanation,
                reason,
                conversation_id,
                message_id,
            } => HubError::QueryFailed {
                explanation,
                reason,
                conversation_id,
                message_id,
            },
            DaemonFailure::OverBudget { text } => HubError::OverBudget(text),
            DaemonFailure::Instance { error } => HubError::Instance(error),
        }
    }
}

/// The tool result the daemon answers a failed operation with: the text
/// for the calling model and, when a face may branch on the kind of
/// failure, the failure typed under [`FAILURE_META`] in `_meta`.
pub fn failure_result(error: &super::HubError) -> rmcp::model::CallToolResult {
    let mut result = rmcp::model::CallToolResult::error(vec![rmcp::model::ContentBlock::text(
        error.to_string(),
    )]);
    if let Some(Ok(carried)) = DaemonFailure::of(error).map(serde_json::to_value) {
        let mut meta = rmcp::model::MetaObject::new();
        meta.0.insert(FAILURE_META.to_string(), carried);
        result.meta = Some(meta);
    }
    result
}
