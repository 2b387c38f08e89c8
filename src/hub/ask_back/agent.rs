//! The answering agent's side of an ask-back, run by `claude-comms
//! agent-tools` (the MCP server its `claude` started): it stores the
//! agent's question about the one query of its scope, then waits for the
//! asker's answer, the deadline, or the end of the query, reading the
//! store again when told to (see `wake.rs`), and at the latest after
//! [`RECHECK`]. Whatever happens, the question is closed before the tool
//! returns, so nothing waits for good.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::super::HubError;
use super::scope::AgentScope;
use super::wake::{self, AgentWake, RECHECK};
use crate::store::{AskBackState, MessageStatus, Notice, Store};

/// The agent tools' view of their question and store. The scope is read
/// at every call: a persistent process's tools follow its turns.
pub struct AgentSide {
    scope_file: PathBuf,
    store: tokio::sync::OnceCell<Store>,
}

/// What the agent's tool returns, worded for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentWords {
    /// The answer, and who gave it.
    Answered { from: String, answer: String },
    /// A reason to go on (no answer in time) or to stop (the query
    /// ended), in words for the agent.
    NoAnswer(String),
}

impl AgentSide {
    /// The tools of the question(s) the hub writes to `scope_file`.
    pub fn new(scope_file: &Path) -> AgentSide {
        AgentSide {
            scope_file: scope_file.to_path_buf(),
            store: tokio::sync::OnceCell::new(),
        }
    }

    /// The question being answered now, and the store (opened once).
    async fn current(&self) -> Result<(AgentScope, &Store), HubError> {
        if !self.scope_file.exists() {
            return Err(HubError::BadRequest(
                "no question is being answered now: ask back only while answering one".into(),
            ));
        }
        let scope = AgentScope::read(&self.scope_file)?;
        let store = self
            .store
            .get_or_try_init(|| async { scope.store.open() })
            .await?;
        Ok((scope, store))
    }

    /// `ask_asker`: asks the asking module `question` about the query in
    /// scope and waits for the answer (at most the scope's timeout).
    pub async fn ask_asker(
        &self,
        question: &str,
        cancel: &CancellationToken,
    ) -> Result<AgentWords, HubError> {
        if question.trim().is_empty() {
            return Err(HubError::BadRequest(
                "the question is empty: say what you need the asker to tell you".into(),
            ));
        }
        let (scope, store) = self.current().await?;
        let scope = &scope;
        let answered = |answer: crate::store::Message| AgentWords::Answered {
            from: scope.source.clone(),
            answer: answer.content,
        };
        // Listening before asking, so that no answer comes unheard: the
        // store's notices on PostgreSQL, a socket the answering hub pokes
        // on SQLite.
        let mut notices = store.fleet().map(|f| f.notices());
        let poked = match notices {
            Some(_) => None,
            None => AgentWake::bind(&scope.agent_tools_dir(), &scope.query_id),
        };
        let asked = store.ask_back(&scope.query_id, question).await?;
        let ask_id = asked.question.id;
        let closed = Closed { scope };
        closed.tell_hub();
        let timeout = Duration::from_secs(scope.timeout_s);
        let deadline = tokio::time::Instant::now() + timeout;
        let about = |notice: Notice| match notice {
            Notice::AskBack { query_id } | Notice::Outcome { query_id } => {
                query_id == scope.query_id
            }
            _ => false,
        };
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return give_up(store, scope, &ask_id).await;
            }
            tokio::select! {
                _ = cancel.cancelled() => {
                    store.close_ask_back(&ask_id, AskBackState::Ended).await?;
                    return Ok(AgentWords::NoAnswer("the question was withdrawn".into()));
                }
                _ = async { match &poked { Some(p) => p.poked().await, None => std::future::pending().await } } => {}
                _ = super::super::notices::next_notice(&mut notices, about) => {}
                _ = tokio::time::sleep(RECHECK.min(deadline - now)) => {}
            }
            let found = store.ask_back_of(&ask_id).await?;
            if let Some(answer) = found.answer {
                return Ok(answered(answer));
            }
            if found.state != AskBackState::Waiting {
                return Ok(AgentWords::NoAnswer(format!(
                    "{} will not answer this question; go on with what you know",
                    scope.source
                )));
            }
            let query = store.message(&scope.query_id).await?;
            if query.status != MessageStatus::Pending {
                let ended = store.close_ask_back(&ask_id, AskBackState::Ended).await?;
                if let Some(answer) = ended.answer {
                    return Ok(answered(answer));
                }
                return Ok(AgentWords::NoAnswer(format!(
                    "the question you are answering is {}: stop here",
                    query.status.as_str()
                )));
            }
        }
    }
}

impl AgentSide {
    /// `ask_module`: asks `target` `question` as the answering module (a
    /// question of its own, one hop further: the loop guard holds), records
    /// it as a child of the question being answered, and waits for the
    /// answer (at most `instances.request_timeout_s`).
    pub async fn ask_module(
        &self,
        target: &str,
        question: &str,
        cancel: &CancellationToken,
    ) -> Result<AgentWords, HubError> {
        let (scope, store) = self.current().await?;
        let config = scope.load_config()?;
        let timeout = Duration::from_secs(config.config.instances.request_timeout_s);
        let hub = super::super::Hub::open_routed(config, Some(scope.target.clone()))?;
        let asked = self
            .ask_module_through(&hub, store, &scope, target, question, timeout, cancel)
            .await;
        hub.shutdown().await;
        asked
    }

    #[allow(clippy::too_many_arguments)]
    async fn ask_module_through(
        &self,
        hub: &std::sync::Arc<super::super::Hub>,
        store: &Store,
        scope: &AgentScope,
        target: &str,
        question: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<AgentWords, HubError> {
        let sent = hub
            .jobs()
            .send(super::super::SendRequest {
                source: Some(scope.target.clone()),
                target: Some(target.to_string()),
                message: question.to_string(),
                ..Default::default()
            })
            .await?;
        let id = sent.message_id;
        store.link_child_query(&id, &scope.query_id).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        let job = loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let job = tokio::select! {
                job = hub.jobs().wait(&id, left) => job?,
                _ = cancel.cancelled() => return Ok(AgentWords::NoAnswer(format!(
                    "the question to {target} was withdrawn: {}",
                    hub.jobs().cancel(&id).await.map(|j| j.status).unwrap_or_else(|e| e.to_string())
                ))),
            };
            if !job.is_pending() || left.is_zero() {
                break job;
            }
            // Nobody answers for this agent: a question its child asks
            // back waits out its own timeout; wait for what comes after.
            if let Some(asked) = &job.input_request {
                tokio::select! {
                    _ = hub.messaging().next_turn(&id, Some(&asked.question_id), left) => {}
                    _ = cancel.cancelled() => {}
                }
            }
        };
        Ok(match (job.reply, job.error) {
            (Some(reply), _) => AgentWords::Answered {
                from: target.to_string(),
                answer: reply,
            },
            (None, error) => AgentWords::NoAnswer(format!(
                "{target} gave no answer ({}): {}",
                job.status,
                error.unwrap_or_default()
            )),
        })
    }
}

/// The deadline passed: close the question `unanswered` (unless the
/// answer came first) and tell the agent to go on.
async fn give_up(store: &Store, scope: &AgentScope, ask_id: &str) -> Result<AgentWords, HubError> {
    let closed = store
        .close_ask_back(ask_id, AskBackState::Unanswered)
        .await?;
    if let Some(answer) = closed.answer {
        return Ok(AgentWords::Answered {
            from: scope.source.clone(),
            answer: answer.content,
        });
    }
    Ok(AgentWords::NoAnswer(format!(
        "no answer came from {} within {} s; go on with what you know",
        scope.source, scope.timeout_s
    )))
}

/// Tells the dispatching hub (on SQLite: PostgreSQL notifies) that the
/// question of its scope was stored, and again when the tool returns
/// (closed, answered or given up), so its waits read the store at once.
struct Closed<'a> {
    scope: &'a AgentScope,
}

impl Closed<'_> {
    fn tell_hub(&self) {
        if let Some(socket) = &self.scope.wake {
            wake::poke(socket);
        }
    }
}

impl Drop for Closed<'_> {
    fn drop(&mut self) {
        self.tell_hub();
    }
}

/// How often [`ask_and_wait`] reads the store for the answer where the
/// store gives no notices (with them: every [`super::wake::RECHECK`], should
/// a notice be lost).
const HUB_ASK_POLL: Duration = Duration::from_millis(250);

/// Stores `question` about query `query_id` (asked by `source`) and waits
/// for the answer, `timeout_s`, the end of the query or `cancel`, in the
/// hub's own process; the question is closed before this returns. The A2A
/// client asks back through it when an A2A agent is `input-required`.
pub(in crate::hub) async fn ask_and_wait(
    store: &Store,
    query_id: &str,
    source: &str,
    timeout_s: u64,
    question: &str,
    (cancel, asked_hook): (&CancellationToken, &(dyn Fn() + Send + Sync)),
) -> Result<AgentWords, HubError> {
    let answered = |answer: crate::store::Message| AgentWords::Answered {
        from: source.to_string(),
        answer: answer.content,
    };
    // Subscribed before asking: the answer's notice (PostgreSQL's, or the
    // SQLite data directory's doorbell) is not missed.
    let mut notices = store.notices();
    let every = match notices {
        Some(_) => super::wake::RECHECK,
        None => HUB_ASK_POLL,
    };
    let asked = store.ask_back(query_id, question).await?;
    // The asker's waits in this process read the store again now.
    asked_hook();
    let ask_id = asked.question.id;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout_s);
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            let closed = store
                .close_ask_back(&ask_id, AskBackState::Unanswered)
                .await?;
            return Ok(match closed.answer {
                Some(answer) => answered(answer),
                None => AgentWords::NoAnswer(format!(
                    "no answer came from {source} within {timeout_s} s; go on with what you know"
                )),
            });
        }
        tokio::select! {
            _ = cancel.cancelled() => {
                store.close_ask_back(&ask_id, AskBackState::Ended).await?;
                return Ok(AgentWords::NoAnswer("the question was withdrawn".into()));
            }
            _ = crate::hub::notices::next_notice(
                &mut notices,
                |n| matches!(n, crate::store::Notice::AskBack { query_id: q } if q == query_id),
            ) => {}
            _ = tokio::time::sleep(every.min(deadline - now)) => {}
        }
        let found = store.ask_back_of(&ask_id).await?;
        if let Some(answer) = found.answer {
            return Ok(answered(answer));
        }
        let query = store.message(query_id).await?;
        if query.status != MessageStatus::Pending {
            let ended = store.close_ask_back(&ask_id, AskBackState::Ended).await?;
            if let Some(answer) = ended.answer {
                return Ok(answered(answer));
            }
            return Ok(AgentWords::NoAnswer(format!(
                "the question is {}: stop here",
                query.status.as_str()
            )));
        }
    }
}
