//! Ask-back (issue 29): the answering agent may ask its asker a question
//! while it works, and carry on in the same turn with the answer.
//!
//! ```text
//!  asker ── send_message ──► hub ── dispatch ──► agent (claude, in the target's folder)
//!    ▲                        │                      │ mcp__comms__ask_asker(question)
//!    │ input_required          │ notices (or pokes)   ▼
//!    │ (question, query_id)    ◄──── ask_backs ◄── claude-comms agent-tools --scope F
//!    └─ answer_question ──► store ─────────────────► (waits, returns the answer)
//! ```
//!
//! * `scope.rs`: before a question is dispatched, the hub writes what the
//!   agent's tools may touch (that question, its store) and an MCP config
//!   that starts `claude-comms agent-tools` with it; they are removed when
//!   the agent is done.
//! * `agent.rs`: the agent's side, run by the `agent-tools` face: stores
//!   the question and waits for the answer, the deadline
//!   (`context.ask_back_timeout_s`) or the end of the query.
//! * `waiting.rs`: the asker's side: a waiting `send_message` that sees a
//!   question returns `input_required` and leaves the query to a job;
//!   `answer_question` answers and waits for what comes next.
//!
//! * `wake.rs`: how each side learns that the other moved without
//!   reading the store on a timer (PostgreSQL notices; on SQLite, a
//!   datagram between the processes of one machine).
//!
//! Everything goes through the store (rows, and a notice that says "read
//! again"), so it works across processes and nodes alike.

mod agent;
mod scope;
mod waiting;
pub mod wake;

pub use super::send_types::InputRequest;
pub(in crate::hub) use agent::ask_and_wait;
pub use agent::{AgentSide, AgentWords};
pub use scope::{AgentScope, ScopeStore};
pub use waiting::INPUT_REQUIRED;
