//! The hub's error. The cases a face words or answers differently have
//! variants of their own (a bad or missing argument, an unknown id, a query
//! that got no answer, a budget used up), so a face branches on the variant,
//! never on the text: the CLI names the flag of an argument, the MCP layer
//! answers an unknown id with the JSON-RPC error for it, and a routed hub
//! rebuilds the very variant its daemon returned (see
//! [`super::daemon_ops::DaemonFailure`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::context::ContextError;
use crate::descriptor::RegistryError;
use crate::instances::InstanceError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// One argument of the request is wrong; `problem` says how, in words
    /// that do not name any argument (each face names it its own way).
    #[error("argument `{}`: {problem}", argument.name())]
    BadArgument { argument: Argument, problem: String },
    /// A required argument is missing and nothing supplies a default.
    #[error("argument `{}`: {}", argument.name(), missing_text(*argument))]
    MissingArgument { argument: Argument },
    /// No such id; with `module`, none that this module may use (another
    /// module's id gets the same answer as an unknown one).
    #[error("{}", not_found_text(*thing, id, module.as_deref()))]
    NotFound {
        thing: Thing,
        id: String,
        module: Option<String>,
    },
    /// The request is refused for a reason that names no single argument.
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error(transparent)]
    Instance(InstanceError),
    /// The query was stored and dispatched but got no answer; the failure
    /// is stored too.
    #[error("{explanation}")]
    QueryFailed {
        /// For an agent (MCP caller): what happened and what to do next.
        explanation: String,
        /// Why the query got no answer, alone (for faces that word their
        /// own advice, such as the CLI).
        reason: String,
        conversation_id: String,
        message_id: String,
    },
    /// A budget of `[budgets]` is used up; nothing was stored or sent.
    #[error("{0}")]
    OverBudget(String),
    /// A task of this process failed (a panic) or a case that cannot
    /// happen did: nothing the request could change.
    #[error("{0}")]
    Internal(String),
    /// A daemon-only operation was asked of a hub that uses no daemon.
    #[error("no daemon is used")]
    NoDaemon,
    /// The outcome of a query (its answer or its failure) was reached but
    /// could not be stored; the words say what stays pending.
    #[error("{0}")]
    OutcomeNotStored(String),
    /// Another process closed the query first (marked it interrupted, say):
    /// this outcome is not stored, and that is final.
    #[error("message {id} is already {status}")]
    AlreadyFinished { id: String, status: String },
    /// The permission policy of the module to ask could not be applied
    /// (its settings file, its exec shim).
    #[error("cannot apply the permission policy of \"{module}\": {why}")]
    Policy { module: String, why: String },
    /// An instance journal could not be read.
    #[error("reading an instance journal: {0}")]
    Journal(String),
    /// Another node of the fleet, or the store's notices that link the
    /// nodes, failed this request (an unreadable answer, notices that
    /// ended, the shared descriptors).
    #[error("{0}")]
    Fleet(String),
    /// The daemon refused or failed the request (its words), or could not
    /// be reached.
    #[error("{0}")]
    Daemon(String),
}

impl HubError {
    pub fn bad_argument(argument: Argument, problem: impl Into<String>) -> HubError {
        HubError::BadArgument {
            argument,
            problem: problem.into(),
        }
    }

    /// Whether the server failed (its database, a task of its own), as
    /// opposed to the request being wrong: protocols answer the two with
    /// different errors.
    pub fn is_server_fault(&self) -> bool {
        match self {
            HubError::Internal(_)
            | HubError::NoDaemon
            | HubError::OutcomeNotStored(_)
            | HubError::AlreadyFinished { .. }
            | HubError::Policy { .. }
            | HubError::Journal(_)
            | HubError::Fleet(_) => true,
            HubError::Store(e) => matches!(
                e,
                StoreError::Open { .. }
                    | StoreError::Database { .. }
                    | StoreError::Busy { .. }
                    | StoreError::TooNew { .. }
                    | StoreError::NotCommitted(_)
                    | StoreError::Export(_)
                    | StoreError::Injected(_)
                    | StoreError::Task(_)
            ),
            _ => false,
        }
    }

    pub fn not_found(thing: Thing, id: impl Into<String>) -> HubError {
        HubError::NotFound {
            thing,
            id: id.into(),
            module: None,
        }
    }
}

/// An unknown id is its own variant whichever layer noticed it.
impl From<StoreError> for HubError {
    fn from(e: StoreError) -> HubError {
        match e {
            StoreError::UnknownConversation(id) => HubError::not_found(Thing::Conversation, id),
            StoreError::UnknownMessage(id) => HubError::not_found(Thing::Message, id),
            other => HubError::Store(other),
        }
    }
}

impl From<InstanceError> for HubError {
    fn from(e: InstanceError) -> HubError {
        match e {
            InstanceError::UnknownInstance(id) => HubError::not_found(Thing::Instance, id),
            other => HubError::Instance(other),
        }
    }
}

/// An argument of a hub request, by the name MCP tools give it (the serde
/// name is that name). The CLI maps each to the flag that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Argument {
    Source,
    Target,
    Message,
    ConversationId,
    IdempotencyKey,
    TimeoutS,
    Module,
    Pair,
    Status,
    Format,
    Since,
}

impl Argument {
    /// The argument's name in MCP tools.
    pub fn name(self) -> &'static str {
        match self {
            Argument::Source => "source",
            Argument::Target => "target",
            Argument::Message => "message",
            Argument::ConversationId => "conversation_id",
            Argument::IdempotencyKey => "idempotency_key",
            Argument::TimeoutS => "timeout_s",
            Argument::Module => "module",
            Argument::Pair => "pair",
            Argument::Status => "status",
            Argument::Format => "format",
            Argument::Since => "since",
        }
    }
}

/// What kind of thing an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Thing {
    Conversation,
    Message,
    Job,
    Instance,
}

impl Thing {
    pub fn as_str(self) -> &'static str {
        match self {
            Thing::Conversation => "conversation",
            Thing::Message => "message",
            Thing::Job => "job",
            Thing::Instance => "instance",
        }
    }
}

/// What a missing argument means, for an MCP caller.
fn missing_text(argument: Argument) -> String {
    match argument {
        Argument::Source => "no asking module given, and this server was not started with --module (or CLAUDE_COMMS_MODULE)".into(),
        Argument::Target => "name the module to ask, or give a conversation_id".into(),
        other => format!("give `{}`", other.name()),
    }
}

fn not_found_text(thing: Thing, id: &str, module: Option<&str>) -> String {
    let thing_name = thing.as_str();
    match (module, thing) {
        (Some(module), _) => format!("no {thing_name} \"{id}\" that module \"{module}\" can use"),
        (None, Thing::Instance) => {
            format!("unknown instance \"{id}\" (`claude-comms instances list` shows the ids)")
        }
        (None, _) => format!("unknown {thing_name} \"{id}\""),
    }
}
