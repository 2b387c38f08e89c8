//! A query on its way through `send_message`: what `prepare` works out
//! for `dispatch` and `record_outcome`, and why a dispatched query may have
//! no answer.

use std::path::PathBuf;

use super::HubError;
use super::send_types::SendOutcome;
use crate::config::BackendKind;
use crate::context::{Turn, TurnRole};
use crate::instances::InstanceError;
use crate::store::{Conversation, Message, Role};

/// Why a dispatched query has no answer.
#[derive(Debug, thiserror::Error)]
pub(super) enum QueryFailure {
    #[error("{0}")]
    Instance(InstanceError),
    #[error("the prompt could not be built: {0}")]
    Refused(String),
    #[error("{0}")]
    Hub(HubError),
    /// The A2A agent that answers for the module gave no answer.
    #[error("{0}")]
    A2a(crate::a2a_link::A2aError),
}

impl QueryFailure {
    /// A short word for why, counted by `stats`.
    pub fn cause(&self) -> &'static str {
        match self {
            QueryFailure::Instance(e) => e.kind(),
            QueryFailure::Refused(_) => "refused",
            QueryFailure::Hub(_) => "store",
            QueryFailure::A2a(e) => e.kind(),
        }
    }
}

/// A query on its way: what `prepare` worked out, for `dispatch` and
/// `record_outcome`.
pub(super) struct Sending {
    pub conversation: Conversation,
    pub history: Vec<Turn>,
    pub source_descriptor: crate::descriptor::ModuleDescriptor,
    pub target_descriptor: crate::descriptor::ModuleDescriptor,
    pub chain: Vec<String>,
    pub profile: crate::instances::ChildProfile,
    pub folder: PathBuf,
    pub backend: BackendKind,
    /// The stream session the next turn resumes, if any.
    pub resume: Option<String>,
    pub prompt_text: String,
    /// The stored query (set once stored).
    pub query: Option<Message>,
    /// The answering module's folder and reuse (see `reuse.rs`).
    pub module: super::reuse::ModuleContext,
    /// The node answering a routed question (see `fleet/`): its outcome
    /// is stored only while this node still holds the question.
    pub claimant: Option<String>,
    /// The A2A agent that answers instead of a Claude agent in a folder
    /// (see `a2a_agents.rs`).
    pub a2a: Option<crate::descriptor::A2aEndpoint>,
}

impl Sending {
    pub fn query_id(&self) -> &str {
        self.query.as_ref().map_or("", |q| q.id.as_str())
    }
}

pub(super) enum Prepared {
    Fresh(Box<Sending>),
    /// Stored and handed to the fleet: a node that hosts the target
    /// answers it (see `fleet/`).
    Routed(Box<(Conversation, Message)>),
    /// A repeated idempotency key: the first call's outcome.
    Duplicate(Box<Result<SendOutcome, HubError>>),
}

/// A stored message as a turn of the prompt's history.
pub(super) fn turn_of(message: Message) -> Turn {
    Turn {
        seq: message.seq,
        role: match message.role {
            Role::Query => TurnRole::Query,
            Role::Reply => TurnRole::Reply,
            Role::Error => TurnRole::Error,
            Role::Note => TurnRole::Note,
            Role::AskBack => TurnRole::AskBack,
            Role::AskBackAnswer => TurnRole::AskBackAnswer,
        },
        sender: message.sender,
        content: message.content,
    }
}

/// Longest conversation title made from a first message, in characters.
const TITLE_CHARS: usize = 80;

/// A title from the first line of the first message.
pub(super) fn title_from(message: &str) -> String {
    let line = message.trim().lines().next().unwrap_or("").trim();
    let mut title: String = line.chars().take(TITLE_CHARS).collect();
    if line.chars().count() > TITLE_CHARS {
        title.push('…');
    }
    title
}
