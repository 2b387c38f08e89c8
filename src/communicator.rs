//! A few lines for Rust programs that want to ask other modules something:
//! the same operations as the MCP tools, without an MCP host.
//!
//! ```no_run
//! # async fn demo() -> Result<(), claude_comms::communicator::CommunicatorError> {
//! use claude_comms::Communicator;
//!
//! let comm = Communicator::builder("marker")
//!     .folder("/path/to/marker")
//!     .build()?;
//! let answer = comm.send_message("arangodb", "Which collections hold PDF pages?").await?;
//! println!("{}", answer.reply.as_deref().unwrap_or_default());
//! let more = comm
//!     .continue_conversation(&answer.conversation_id, "And their indexes?")
//!     .await?;
//! println!("{}", more.reply.as_deref().unwrap_or_default());
//! for c in comm.list_conversations().await? {
//!     println!("{} {} -> {}", c.id, c.source, c.target);
//! }
//! comm.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! The streaming form yields progress while the answering agent works:
//!
//! ```no_run
//! # async fn demo(comm: claude_comms::Communicator) {
//! use claude_comms::communicator::SendEvent;
//!
//! let mut events = comm.send_message_streaming("arangodb", "Summarise the schema");
//! while let Some(event) = events.recv().await {
//!     match event {
//!         SendEvent::Progress(text) => eprintln!("… {text}"),
//!         // The agent asks something back; the send goes on once answered.
//!         SendEvent::InputRequired(asked) => {
//!             let _ = comm.answer_question(&asked.query_id, "the page_blocks collection").await;
//!         }
//!         SendEvent::Done(Ok(answer)) => println!("{}", answer.reply.unwrap_or_default()),
//!         SendEvent::Done(Err(e)) => eprintln!("failed: {e}"),
//!     }
//! }
//! # }
//! ```
//!
//! Underneath is a [`Hub`]. By default (`background(false)`) it runs in this
//! process: children start when a message needs them and stop with
//! [`Communicator::close`]. With `background(true)` the work that needs
//! children goes to the data dir's running daemon (`claude-comms daemon
//! start`), which keeps children warm between programs; reads (lists,
//! exports) come from the shared database either way.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{Config, HOME_ENV, LoadedConfig, Overrides};
use crate::hub::ask_back::InputRequest;
use crate::hub::{
    Conversation, ConversationFilter, ExportFormat, Hub, HubError, NewConversationRequest,
    Progress, SendOutcome, SendRequest,
};

#[derive(Debug, thiserror::Error)]
pub enum CommunicatorError {
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Hub(#[from] HubError),
}

/// One step of a streamed send: progress while the agent works, the
/// agent's questions back (answer them with
/// [`Communicator::answer_question`]; the send goes on), then the outcome
/// (always last, exactly once).
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one Done per send, moved once; boxing it would only make matching clumsier"
)]
pub enum SendEvent {
    Progress(String),
    /// The answering agent asks the sender something (issue 29); unanswered
    /// within `context.ask_back_timeout_s`, it goes on without.
    InputRequired(InputRequest),
    Done(Result<SendOutcome, HubError>),
}

/// Where the operations go. Private: how a communicator reaches its hub
/// may change without changing the public API.
enum Door {
    /// A hub in this process that owns its children.
    Embedded(Arc<Hub>),
    /// A hub that hands the work needing children to the data dir's daemon.
    Daemon(Arc<Hub>),
}

/// A module's handle for talking to other modules. Cheap to share behind
/// an `Arc`; every method takes `&self`.
pub struct Communicator {
    module: String,
    door: Door,
}

/// Builds a [`Communicator`]; see [`Communicator::builder`].
pub struct CommunicatorBuilder {
    module: String,
    folder: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    config_file: Option<PathBuf>,
    descriptor_dirs: Vec<PathBuf>,
    background: bool,
    adjust: Vec<ConfigChange>,
}

/// A change to the configuration, applied before the hub opens.
type ConfigChange = Box<dyn FnOnce(&mut Config) + Send>;

impl CommunicatorBuilder {
    /// This module's folder (where its agent works when others ask it).
    pub fn folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.folder = Some(folder.into());
        self
    }

    /// Where conversations and the config live (default: the platform data
    /// folder, or `$CLAUDE_COMMS_HOME`); the same as `CLAUDE_COMMS_HOME`.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// A config file other than the default one.
    pub fn config_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.config_file = Some(file.into());
        self
    }

    /// An extra folder of module descriptors (repeatable).
    pub fn descriptors(mut self, dir: impl Into<PathBuf>) -> Self {
        self.descriptor_dirs.push(dir.into());
        self
    }

    /// Hand the work that needs children to the data dir's running daemon
    /// (`claude-comms daemon start`), so children stay warm between
    /// programs; this program does not start one. Without it (the default)
    /// children live in this process and stop with [`Communicator::close`].
    pub fn background(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// Changes the loaded configuration before the hub opens (another
    /// module's folder, the child command, timeouts, ...).
    pub fn configure(mut self, change: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.adjust.push(Box::new(change));
        self
    }

    pub fn build(self) -> Result<Communicator, CommunicatorError> {
        let overrides = Overrides {
            config_file: self.config_file,
            descriptor_dirs: self.descriptor_dirs,
        };
        let data_dir = self.data_dir.map(|d| d.display().to_string());
        let mut config = LoadedConfig::load_with_env(&overrides, |key| match &data_dir {
            Some(dir) if key == HOME_ENV => Some(dir.clone()),
            _ => std::env::var(key).ok(),
        })?;
        if let Some(folder) = self.folder {
            config
                .config
                .module_paths
                .insert(self.module.clone(), folder.display().to_string());
        }
        for change in self.adjust {
            change(&mut config.config);
        }
        let door = if self.background {
            // The data dir's running daemon, by its socket: this program is
            // not claude-comms, so it cannot start one (`auto` would run
            // this program as the daemon).
            let socket = crate::daemon_link::DaemonPaths::of(&config).socket;
            config.config.hub = socket.display().to_string();
            Door::Daemon(Hub::open_routed(config, Some(self.module.clone()))?)
        } else {
            Door::Embedded(Hub::open(config, Some(self.module.clone()))?)
        };
        Ok(Communicator {
            module: self.module,
            door,
        })
    }
}

impl Communicator {
    /// Starts building a communicator for `module` (the asking module of
    /// everything it sends).
    pub fn builder(module: impl Into<String>) -> CommunicatorBuilder {
        CommunicatorBuilder {
            module: module.into(),
            folder: None,
            data_dir: None,
            config_file: None,
            descriptor_dirs: Vec::new(),
            background: false,
            adjust: Vec::new(),
        }
    }

    /// The module this communicator speaks for.
    pub fn module(&self) -> &str {
        &self.module
    }

    fn hub(&self) -> &Arc<Hub> {
        match &self.door {
            Door::Embedded(hub) | Door::Daemon(hub) => hub,
        }
    }

    /// Asks `target` in a new conversation and waits for the answer.
    pub async fn send_message(
        &self,
        target: &str,
        prompt: &str,
    ) -> Result<SendOutcome, CommunicatorError> {
        self.send(SendRequest {
            target: Some(target.to_string()),
            message: prompt.to_string(),
            ..SendRequest::default()
        })
        .await
    }

    /// Asks again in an existing conversation (its history goes along).
    pub async fn continue_conversation(
        &self,
        conversation_id: &str,
        prompt: &str,
    ) -> Result<SendOutcome, CommunicatorError> {
        self.send(SendRequest {
            conversation_id: Some(conversation_id.to_string()),
            message: prompt.to_string(),
            ..SendRequest::default()
        })
        .await
    }

    /// Any send (timeout, idempotency key, cancellation, progress); the
    /// source defaults to this communicator's module.
    pub async fn send(&self, mut request: SendRequest) -> Result<SendOutcome, CommunicatorError> {
        request.source.get_or_insert_with(|| self.module.clone());
        Ok(self.hub().messaging().send(request).await?)
    }

    /// Like [`Communicator::send_message`], as a stream of events: progress
    /// while the agent works, then [`SendEvent::Done`] with the outcome.
    pub fn send_message_streaming(&self, target: &str, prompt: &str) -> mpsc::Receiver<SendEvent> {
        self.send_streaming(SendRequest {
            target: Some(target.to_string()),
            message: prompt.to_string(),
            ..SendRequest::default()
        })
    }

    /// Like [`Communicator::send`], as a stream of events.
    pub fn send_streaming(&self, mut request: SendRequest) -> mpsc::Receiver<SendEvent> {
        // Progress comes from a synchronous callback: an unbounded channel
        // never blocks it; the receiver sees everything in order.
        let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<String>();
        let (events, receiver) = mpsc::channel(EVENT_BUFFER);
        request.source.get_or_insert_with(|| self.module.clone());
        request.progress = Some(Arc::new(move |p: Progress| {
            let _ = progress_tx.send(p.message);
        }));
        let hub = self.hub().clone();
        tokio::spawn(async move {
            let send = hub.messaging().send(request);
            tokio::pin!(send);
            let outcome = loop {
                tokio::select! {
                    outcome = &mut send => break outcome,
                    Some(text) = progress_rx.recv() => {
                        let _ = events.send(SendEvent::Progress(text)).await;
                    }
                }
            };
            while let Ok(text) = progress_rx.try_recv() {
                let _ = events.send(SendEvent::Progress(text)).await;
            }
            let mut outcome = outcome;
            // Each question back, then what came of the answer (the query
            // is a job of the hub meanwhile).
            while let Ok(asked) = &outcome
                && let Some(request) = asked.input_request.clone()
            {
                let (query, question) = (request.query_id.clone(), request.question_id.clone());
                let _ = events.send(SendEvent::InputRequired(request)).await;
                outcome = hub
                    .messaging()
                    .next_turn(&query, Some(&question), crate::hub::MAX_WAIT)
                    .await;
            }
            let _ = events.send(SendEvent::Done(outcome)).await;
        });
        receiver
    }

    /// Answers the question an answering agent asked back
    /// ([`SendEvent::InputRequired`], or a [`SendOutcome`] whose
    /// `input_request` is set); the agent carries on with it.
    pub async fn answer_question(
        &self,
        query_id: &str,
        answer: &str,
    ) -> Result<(), CommunicatorError> {
        self.hub()
            .messaging()
            .answer_question(query_id, answer, std::time::Duration::ZERO)
            .await?;
        Ok(())
    }

    /// Starts a conversation with `target` (no message yet).
    pub async fn create_conversation(
        &self,
        target: &str,
    ) -> Result<Conversation, CommunicatorError> {
        Ok(self
            .hub()
            .conversations()
            .create(NewConversationRequest {
                source: Some(self.module.clone()),
                target: target.to_string(),
                title: None,
                backend: None,
            })
            .await?)
    }

    /// Every conversation this module takes part in, most recently active first.
    pub async fn list_conversations(&self) -> Result<Vec<Conversation>, CommunicatorError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .hub()
                .conversations()
                .list(ConversationFilter {
                    module: Some(self.module.clone()),
                    status: None,
                    limit: 500,
                    cursor,
                })
                .await?;
            all.extend(page.conversations);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// A conversation as JSON, JSON Lines or Markdown.
    pub async fn export(
        &self,
        conversation_id: &str,
        format: ExportFormat,
    ) -> Result<String, CommunicatorError> {
        Ok(self
            .hub()
            .conversations()
            .export(conversation_id, format)
            .await?)
    }

    /// The hub underneath, for everything else it offers.
    pub fn hub_handle(&self) -> &Arc<Hub> {
        self.hub()
    }

    /// Stops the children this communicator started. Call it before the
    /// program ends.
    pub async fn close(&self) {
        match &self.door {
            Door::Embedded(hub) | Door::Daemon(hub) => hub.shutdown().await,
        }
    }
}

/// Events a streamed send may hold before the caller reads them.
const EVENT_BUFFER: usize = 64;
