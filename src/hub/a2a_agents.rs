//! Modules answered by A2A agents (issue 31): a descriptor with `a2a:
//! {url, token_env}` instead of a folder. A question to such a module is
//! stored like any other; dispatch sends the asker's message to the agent
//! (`a2a_link`) instead of a Claude agent, keeps the agent's `contextId`
//! as the conversation's backend session (the next turn continues it),
//! turns the agent's `input-required` into a question back to the asker
//! (the same rows as `ask_asker`), and records the answer, its duration
//! and the failure's cause like any outcome. A question cancelled or out
//! of time cancels the agent's task (`CancelTask`, bounded). Any process
//! may ask it: no folder, so no fleet node is needed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::ask_back::{AgentWords, ask_and_wait};
use super::messaging::backend_of;
use super::send_types::SendRequest;
use super::sending::{QueryFailure, Sending, turn_of};
use super::{Hub, HubError};
use crate::a2a_link::wire::TaskState;
use crate::a2a_link::{A2aError, Agent, Reply, Watch};
use crate::descriptor::A2aEndpoint;
use crate::instances::{Answer, ChildProfile, InstanceError};
use crate::store::{Conversation, Message};

/// The agent being talked to and its task, once known (a question that
/// is cancelled or runs out of time cancels the agent's task too), and
/// where its progress goes.
struct Talking {
    agent: std::sync::Mutex<Option<Agent>>,
    watch: Watch,
}

/// How long telling an agent that its task is cancelled may take.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

impl Talking {
    /// The agent's `working` messages go to `progress` as `NAME: text`.
    fn new(target: &str, progress: Option<crate::instances::ProgressSink>) -> Talking {
        let target = target.to_string();
        let report = progress.map(|sink| {
            Box::new(move |line: String| {
                sink(crate::instances::Progress {
                    message: format!("{target}'s A2A agent: {line}"),
                });
            }) as Box<dyn Fn(String) + Send + Sync>
        });
        Talking {
            agent: Default::default(),
            watch: Watch::reporting(report),
        }
    }

    fn knows_task(&self) -> bool {
        self.watch.task().is_some()
    }

    async fn cancel_task(&self) {
        let agent = self.agent.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let task = self.watch.task();
        if let (Some(agent), Some(task)) = (agent, task) {
            let _ = tokio::time::timeout(CANCEL_TIMEOUT, agent.cancel(&task)).await;
        }
    }
}

impl Hub {
    /// The A2A agent that answers for module `name`, if its descriptor
    /// names one.
    pub(super) fn a2a_endpoint(&self, name: &str) -> Option<A2aEndpoint> {
        self.modules().descriptor(name).ok()?.a2a
    }

    /// What `dispatch` needs for a question to an A2A agent: no folder, no
    /// child profile, no prompt (the agent gets the asker's message as it
    /// is), and the agent's `contextId` from the last turn.
    pub(super) fn sending_for_a2a(
        &self,
        conversation: Conversation,
        history: Vec<Message>,
        chain: Vec<String>,
        endpoint: A2aEndpoint,
    ) -> Result<Sending, HubError> {
        let backend = backend_of(&conversation, self.config().config.instances.backend);
        Ok(Sending {
            module: Default::default(),
            history: history.into_iter().map(turn_of).collect(),
            source_descriptor: self.modules().descriptor(&conversation.source)?,
            target_descriptor: self.modules().descriptor(&conversation.target)?,
            profile: ChildProfile::default(),
            chain,
            folder: PathBuf::new(),
            backend,
            resume: conversation.backend_session.clone(),
            prompt_text: String::new(),
            query: None,
            conversation,
            claimant: None,
            a2a: Some(endpoint),
        })
    }

    /// Asks the A2A agent, answering its questions back through the
    /// asker, within `timeout`; cancelled with the request.
    pub(super) async fn ask_a2a(
        &self,
        sending: &Sending,
        request: &SendRequest,
        timeout: Duration,
    ) -> Result<Answer, QueryFailure> {
        let Some(endpoint) = &sending.a2a else {
            return Err(QueryFailure::Hub(HubError::Internal(
                "an A2A question without its endpoint".into(),
            )));
        };
        let target = &sending.conversation.target;
        let token = match &endpoint.token_env {
            None => None,
            Some(var) => Some(std::env::var(var).map_err(|_| {
                QueryFailure::Refused(format!(
                    "the token of the A2A agent of \"{target}\": environment variable {var} (a2a.token_env) is not set in the process that asks"
                ))
            })?),
        };
        let started = Instant::now();
        let talking = Talking::new(target, request.progress.clone());
        let work = self.converse(sending, &endpoint.url, token, &request.cancel, &talking);
        let mut work = std::pin::pin!(tokio::time::timeout(timeout, work));
        let (agent, reply) = tokio::select! {
            done = &mut work => match done {
                Ok(done) => done?,
                Err(_) => {
                    talking.cancel_task().await;
                    return Err(QueryFailure::Instance(InstanceError::Timeout {
                        seconds: timeout.as_secs(),
                        during: format!("waiting for the A2A agent of \"{target}\" at {}", endpoint.url),
                    }));
                }
            },
            _ = request.cancel.cancelled() => {
                // The agent may not have named its task yet: read its
                // answer a little longer for the id, then cancel it.
                let deadline = tokio::time::Instant::now() + CANCEL_TIMEOUT;
                while !talking.knows_task() && tokio::time::Instant::now() < deadline {
                    tokio::select! {
                        _ = &mut work => break,
                        _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                    }
                }
                talking.cancel_task().await;
                return Err(QueryFailure::Instance(InstanceError::Cancelled));
            }
        };
        Ok(Answer {
            text: reply.text,
            instance_id: format!("a2a:{}", agent.name),
            duration_ms: started.elapsed().as_millis() as u64,
            session_id: reply.context_id,
            usage: None,
            cost_usd: None,
            api_duration_ms: None,
            num_turns: None,
            session_continued: sending.resume.is_some(),
            tool_uses: Vec::new(),
        })
    }

    /// The exchange with the agent up to its answer: each `input-required`
    /// becomes a question back to the asker, whose answer (or the word
    /// that none came) goes to the agent's task.
    async fn converse(
        &self,
        sending: &Sending,
        url: &str,
        token: Option<String>,
        cancel: &tokio_util::sync::CancellationToken,
        talking: &Talking,
    ) -> Result<(Agent, Reply), QueryFailure> {
        let agent = Agent::resolve(url, token)
            .await
            .map_err(QueryFailure::A2a)?;
        *talking.agent.lock().unwrap_or_else(|e| e.into_inner()) = Some(agent.clone());
        let mut context = sending.resume.clone();
        let mut task: Option<String> = None;
        let mut text = sending.prompt_text.clone();
        loop {
            let reply = agent
                .send(&text, (context.as_deref(), task.as_deref()), &talking.watch)
                .await
                .map_err(QueryFailure::A2a)?;
            context = reply.context_id.clone().or(context);
            match reply.state {
                TaskState::Completed if reply.text.trim().is_empty() => {
                    return Err(QueryFailure::A2a(A2aError::Protocol(
                        "the task completed with no text to answer with".into(),
                    )));
                }
                TaskState::Completed => {
                    let mut reply = reply;
                    reply.context_id = context;
                    return Ok((agent, reply));
                }
                TaskState::InputRequired => {
                    let words = ask_and_wait(
                        &self.store,
                        sending.query_id(),
                        &sending.conversation.source,
                        self.config().config.context.ask_back_timeout_s,
                        &reply.text,
                        (cancel, &|| self.messages_changed()),
                    )
                    .await
                    .map_err(QueryFailure::Hub)?;
                    text = match words {
                        AgentWords::Answered { answer, .. } => answer,
                        AgentWords::NoAnswer(why) => why,
                    };
                    task = reply.task_id;
                }
                TaskState::AuthRequired => {
                    return Err(QueryFailure::Refused(format!(
                        "the A2A agent asks for more authentication (auth-required), which claude-comms cannot give: {}",
                        reply.text
                    )));
                }
                state => {
                    let word = serde_json::to_value(state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    return Err(QueryFailure::A2a(A2aError::Rpc {
                        code: 0,
                        message: format!("its task ended {word}: {}", reply.text),
                    }));
                }
            }
        }
    }

    /// Whether the card of module `name`'s A2A agent can be read (for
    /// `doctor`): its name and whether it streams, or why not.
    pub(super) async fn check_a2a_agent(&self, name: &str) -> Option<Result<String, String>> {
        let endpoint = self.a2a_endpoint(name)?;
        let token = match &endpoint.token_env {
            Some(var) => match std::env::var(var) {
                Ok(token) => Some(token),
                Err(_) => {
                    return Some(Err(format!(
                        "{var} (a2a.token_env) is not set in this environment"
                    )));
                }
            },
            None => None,
        };
        let card = tokio::time::timeout(
            Duration::from_secs(15),
            Agent::resolve(&endpoint.url, token),
        )
        .await;
        Some(match card {
            Ok(Ok(agent)) => Ok(format!(
                "card of \"{}\" read at {}{}",
                agent.name,
                agent.card_url,
                if agent.streaming { " (streams)" } else { "" }
            )),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no card from {} within 15 s", endpoint.url)),
        })
    }
}
