//! Ask-backs on PostgreSQL (see `store/ask_back.rs`): the same steps as
//! `sqlite/ask_back.rs`, each in one transaction under the conversation's
//! lock (so `seq` stays gapless); the unique index on waiting questions
//! and `state = 'waiting'` in every closing statement make a second
//! question, or a second answer, impossible from any node.

use super::PostgresStore;
use super::cached::Cached;
use super::flight::{CONVERSATION_LOCK, DB_NOW_MS, LOCK_CONVERSATION_OF};
use super::listen::ASK_BACKS;
use super::messages::insert_note_sql;
use super::rows::{load_conversation, load_message, message_from_row};
use crate::store::ask_back::{
    ASK_BACK_COUNTS, AskBack, AskBackCount, already_waiting, not_a_query, not_waiting,
    nothing_asked,
};
use crate::store::limits::{self, MAX_NOTE_BYTES};
use crate::store::model::{AskBackState, Message, MessageStatus, Role};
use crate::store::{Result, StoreError};

impl PostgresStore {
    pub async fn ask_back(&self, query_id: &str, question: &str) -> Result<AskBack> {
        limits::check_len("question", question, MAX_NOTE_BYTES)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.run(LOCK_CONVERSATION_OF, &[&CONVERSATION_LOCK, &query_id])
            .await?;
        let query = pending_query(&tx, query_id).await?;
        if let Some(ask_id) = waiting_id(&tx, query_id).await? {
            return Err(already_waiting(query_id, &ask_id));
        }
        let conversation = load_conversation(&tx, &query.conversation_id).await?;
        let asked = insert(
            &tx,
            &conversation.id,
            &conversation.target,
            Role::AskBack,
            question,
        )
        .await?;
        tx.run(
            &format!(
                "INSERT INTO ask_backs (ask_id, query_id, state, created_at) VALUES ($1, $2, 'waiting', {DB_NOW_MS})"
            ),
            &[&asked.id, &query_id],
        )
        .await?;
        notify(&tx, query_id).await?;
        tx.commit().await?;
        Ok(AskBack {
            question: asked,
            query_id: query_id.to_string(),
            state: AskBackState::Waiting,
            answer: None,
        })
    }

    pub async fn answer_ask_back(&self, query_id: &str, answer: &str) -> Result<AskBack> {
        limits::check_len("answer", answer, MAX_NOTE_BYTES)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.run(LOCK_CONVERSATION_OF, &[&CONVERSATION_LOCK, &query_id])
            .await?;
        let query = pending_query(&tx, query_id).await?;
        // Locks the waiting row: a timeout closing it meanwhile waits for
        // this transaction and then finds it answered.
        let ask_id: Option<String> = tx
            .row_opt(
                "SELECT ask_id FROM ask_backs WHERE query_id = $1 AND state = 'waiting' FOR UPDATE",
                &[&query_id],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let Some(ask_id) = ask_id else {
            return Err(nothing_asked(query_id));
        };
        let conversation = load_conversation(&tx, &query.conversation_id).await?;
        let answered = insert(
            &tx,
            &conversation.id,
            &conversation.source,
            Role::AskBackAnswer,
            answer,
        )
        .await?;
        tx.run(
            &format!(
                "UPDATE ask_backs SET state = 'answered', answer_id = $2, closed_at = {DB_NOW_MS} WHERE ask_id = $1 AND state = 'waiting'"
            ),
            &[&ask_id, &answered.id],
        )
        .await?;
        let found = ask_back_in(&tx, &ask_id).await?;
        notify(&tx, query_id).await?;
        tx.commit().await?;
        Ok(found)
    }

    pub async fn close_ask_back(&self, ask_id: &str, state: AskBackState) -> Result<AskBack> {
        let client = self.client().await?;
        // Notified only when it closed (a question no longer waiting
        // changes nothing), in the statement that closes it.
        client
            .run(
                &format!(
                    "WITH closed AS (UPDATE ask_backs SET state = $2, closed_at = {DB_NOW_MS} WHERE ask_id = $1 AND state = 'waiting' RETURNING query_id)
                     SELECT pg_notify($3, query_id) FROM closed"
                ),
                &[&ask_id, &state.as_str(), &ASK_BACKS],
            )
            .await?;
        ask_back_in(&client, ask_id).await
    }

    pub async fn ask_back_of(&self, ask_id: &str) -> Result<AskBack> {
        ask_back_in(&self.client().await?, ask_id).await
    }

    pub async fn link_child_query(&self, child: &str, parent: &str) -> Result<()> {
        let client = self.client().await?;
        load_message(&client, child).await?;
        load_message(&client, parent).await?;
        client
            .run(
                "INSERT INTO query_parents (query_id, parent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&child, &parent],
            )
            .await?;
        Ok(())
    }

    pub async fn child_queries(&self, parent: &str) -> Result<Vec<String>> {
        let rows = self
            .client()
            .await?
            .rows(
                "SELECT p.query_id FROM query_parents p JOIN messages m ON m.id = p.query_id
                 WHERE p.parent_id = $1 ORDER BY m.created_at, m.seq, m.id",
                &[&parent],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<_, String>(0)?))
            .collect()
    }

    pub async fn ask_backs_since(
        &self,
        since_ms: i64,
        module: Option<&str>,
    ) -> Result<Vec<AskBackCount>> {
        limits::check_opt_len("module", module, limits::MAX_NAME_BYTES)?;
        let sql = ASK_BACK_COUNTS.replace("$2 IS NULL", "$2::text IS NULL");
        let rows = self
            .client()
            .await?
            .rows(&sql, &[&since_ms, &module])
            .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get(2)?;
                Ok(AskBackCount {
                    source: r.try_get(0)?,
                    target: r.try_get(1)?,
                    state: state.parse()?,
                    count: r.try_get(3)?,
                })
            })
            .collect()
    }

    pub async fn waiting_ask_back(&self, query_id: &str) -> Result<Option<AskBack>> {
        let client = self.client().await?;
        match waiting_id(&client, query_id).await? {
            Some(ask_id) => ask_back_in(&client, &ask_id).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Appends a delivered message (the note statement, with its role).
async fn insert(
    client: &impl Cached,
    conversation_id: &str,
    sender: &str,
    role: Role,
    content: &str,
) -> Result<Message> {
    let id = uuid::Uuid::new_v4().to_string();
    let row = client
        .row_opt(
            insert_note_sql(),
            &[
                &id,
                &conversation_id,
                &sender,
                &role.as_str(),
                &content,
                &MessageStatus::Delivered.as_str(),
                &"[]",
            ],
        )
        .await?
        .ok_or_else(|| StoreError::UnknownConversation(conversation_id.to_string()))?;
    message_from_row(&row)
}

async fn pending_query(client: &impl Cached, id: &str) -> Result<Message> {
    let query = load_message(client, id).await?;
    if query.role != Role::Query {
        return Err(not_a_query(id));
    }
    if query.status != MessageStatus::Pending {
        return Err(not_waiting(id, query.status.as_str()));
    }
    Ok(query)
}

async fn waiting_id(client: &impl Cached, query_id: &str) -> Result<Option<String>> {
    Ok(client
        .row_opt(
            "SELECT ask_id FROM ask_backs WHERE query_id = $1 AND state = 'waiting'",
            &[&query_id],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
}

async fn ask_back_in(client: &impl Cached, ask_id: &str) -> Result<AskBack> {
    let row = client
        .row_opt(
            "SELECT query_id, state, answer_id FROM ask_backs WHERE ask_id = $1",
            &[&ask_id],
        )
        .await?
        .ok_or_else(|| StoreError::UnknownMessage(ask_id.to_string()))?;
    let (query_id, state, answer_id): (String, String, Option<String>) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    let answer = match answer_id {
        Some(id) => Some(load_message(client, &id).await?),
        None => None,
    };
    Ok(AskBack {
        question: load_message(client, ask_id).await?,
        query_id,
        state: state.parse()?,
        answer,
    })
}

/// Tells every listener that query `query_id`'s question back changed,
/// when `tx` commits.
async fn notify(tx: &impl Cached, query_id: &str) -> Result<()> {
    tx.run("SELECT pg_notify($1, $2)", &[&ASK_BACKS, &query_id])
        .await?;
    Ok(())
}
