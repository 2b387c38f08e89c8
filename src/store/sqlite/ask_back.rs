//! Ask-backs on SQLite (see `store/ask_back.rs`): each change is one
//! IMMEDIATE transaction, so a question and its row, or an answer and the
//! closing of its question, are stored together or not at all.

use rusqlite::{Connection, OptionalExtension, params};

use super::conversations::load_conversation;
use super::limits::{self, MAX_NOTE_BYTES};
use super::messages::{Insert, insert, load_message};
use super::model::{AskBackState, Message, MessageStatus, Role};
use super::{Result, SqliteStore, now_ms};
use crate::store::ask_back::{
    ASK_BACK_COUNTS, AskBack, AskBackCount, already_waiting, not_a_query, not_waiting,
    nothing_asked,
};

impl SqliteStore {
    pub fn ask_back(&self, query_id: &str, question: &str) -> Result<AskBack> {
        limits::check_len("question", question, MAX_NOTE_BYTES)?;
        self.write(|tx| {
            let query = pending_query(tx, query_id)?;
            if let Some(ask_id) = waiting_id(tx, query_id)? {
                return Err(already_waiting(query_id, &ask_id));
            }
            let conversation = load_conversation(tx, &query.conversation_id)?;
            let asked = insert(tx, message(&conversation.id, &conversation.target, Role::AskBack, question))?;
            tx.prepare_cached(
                "INSERT INTO ask_backs (ask_id, query_id, state, created_at) VALUES (?1, ?2, 'waiting', ?3)",
            )?
            .execute(params![asked.id, query_id, now_ms()])?;
            Ok(AskBack {
                question: asked,
                query_id: query_id.to_string(),
                state: AskBackState::Waiting,
                answer: None,
            })
        })
    }

    pub fn answer_ask_back(&self, query_id: &str, answer: &str) -> Result<AskBack> {
        limits::check_len("answer", answer, MAX_NOTE_BYTES)?;
        self.write(|tx| {
            let query = pending_query(tx, query_id)?;
            let Some(ask_id) = waiting_id(tx, query_id)? else {
                return Err(nothing_asked(query_id));
            };
            let conversation = load_conversation(tx, &query.conversation_id)?;
            let answered = insert(
                tx,
                message(&conversation.id, &conversation.source, Role::AskBackAnswer, answer),
            )?;
            tx.prepare_cached(
                "UPDATE ask_backs SET state = 'answered', answer_id = ?2, closed_at = ?3 WHERE ask_id = ?1 AND state = 'waiting'",
            )?
            .execute(params![ask_id, answered.id, now_ms()])?;
            ask_back_in(tx, &ask_id)
        })
    }

    pub fn close_ask_back(&self, ask_id: &str, state: AskBackState) -> Result<AskBack> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE ask_backs SET state = ?2, closed_at = ?3 WHERE ask_id = ?1 AND state = 'waiting'",
            )?
            .execute(params![ask_id, state.as_str(), now_ms()])?;
            ask_back_in(tx, ask_id)
        })
    }

    pub fn ask_back_of(&self, ask_id: &str) -> Result<AskBack> {
        self.read(|conn| ask_back_in(conn, ask_id))
    }

    pub fn link_child_query(&self, child: &str, parent: &str) -> Result<()> {
        self.write(|tx| {
            load_message(tx, child)?;
            load_message(tx, parent)?;
            tx.prepare_cached(
                "INSERT INTO query_parents (query_id, parent_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?
            .execute(params![child, parent])?;
            Ok(())
        })
    }

    pub fn child_queries(&self, parent: &str) -> Result<Vec<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT p.query_id FROM query_parents p JOIN messages m ON m.id = p.query_id
                     WHERE p.parent_id = ?1 ORDER BY m.created_at, m.seq, m.id",
                )?
                .query_map([parent], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn ask_backs_since(
        &self,
        since_ms: i64,
        module: Option<&str>,
    ) -> Result<Vec<AskBackCount>> {
        limits::check_opt_len("module", module, limits::MAX_NAME_BYTES)?;
        // The shared statement, in SQLite's parameter style.
        let sql = ASK_BACK_COUNTS.replace("$1", "?1").replace("$2", "?2");
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&sql)?;
            let rows = statement
                .query_map(params![since_ms, module], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?, r.get(3)?))
                })?
                .collect::<rusqlite::Result<Vec<(String, String, String, i64)>>>()?;
            rows.into_iter()
                .map(|(source, target, state, count)| {
                    Ok(AskBackCount {
                        source,
                        target,
                        state: state.parse()?,
                        count,
                    })
                })
                .collect()
        })
    }

    pub fn waiting_ask_back(&self, query_id: &str) -> Result<Option<AskBack>> {
        self.read(|conn| match waiting_id(conn, query_id)? {
            Some(ask_id) => ask_back_in(conn, &ask_id).map(Some),
            None => Ok(None),
        })
    }
}

/// A delivered message without a query's trimmings.
fn message<'a>(
    conversation_id: &'a str,
    sender: &'a str,
    role: Role,
    content: &'a str,
) -> Insert<'a> {
    Insert {
        conversation_id,
        sender,
        role,
        content,
        status: MessageStatus::Delivered,
        idempotency_key: None,
        hop_chain: &[],
        owner: None,
        reply_to: None,
        error: None,
    }
}

/// The query `id`, which must be a pending question.
fn pending_query(conn: &Connection, id: &str) -> Result<Message> {
    let query = load_message(conn, id)?;
    if query.role != Role::Query {
        return Err(not_a_query(id));
    }
    if query.status != MessageStatus::Pending {
        return Err(not_waiting(id, query.status.as_str()));
    }
    Ok(query)
}

fn waiting_id(conn: &Connection, query_id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT ask_id FROM ask_backs WHERE query_id = ?1 AND state = 'waiting'")?
        .query_row([query_id], |r| r.get(0))
        .optional()?)
}

fn ask_back_in(conn: &Connection, ask_id: &str) -> Result<AskBack> {
    let (query_id, state, answer_id): (String, String, Option<String>) = conn
        .prepare_cached("SELECT query_id, state, answer_id FROM ask_backs WHERE ask_id = ?1")?
        .query_row([ask_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .ok_or_else(|| crate::store::StoreError::UnknownMessage(ask_id.to_string()))?;
    Ok(AskBack {
        question: load_message(conn, ask_id)?,
        query_id,
        state: state.parse()?,
        answer: answer_id.map(|id| load_message(conn, &id)).transpose()?,
    })
}
