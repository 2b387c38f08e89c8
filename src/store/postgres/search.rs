//! Full-text search over message contents on PostgreSQL, with the meaning
//! of the SQLite backend's: every word typed must occur, and what is typed
//! is words, never query syntax.

use super::PostgresStore;
use super::cached::Cached;
use super::rows::all;
use crate::store::decode::message_column;
use crate::store::limits::{self, MAX_SEARCH_QUERY_BYTES};
use crate::store::model::SearchHit;
use crate::store::{Result, StoreError};

/// The words of what a person typed: split at whitespace and control
/// characters, as the SQLite backend splits them. Each becomes its own
/// `phraseto_tsquery` (a word such as `a:b` is the phrase `a b`, as FTS5
/// reads it), so nothing typed is ever tsquery syntax.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .map(|w| w.replace('"', ""))
        .filter(|w| !w.is_empty())
        .collect()
}

impl PostgresStore {
    /// Messages containing every word of `query`, newest first (not by
    /// relevance, as on SQLite: the recent match is usually the one wanted).
    pub async fn search(
        &self,
        query: &str,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        limits::check_len("query", query, MAX_SEARCH_QUERY_BYTES)?;
        limits::check_opt_len("module", module, limits::MAX_NAME_BYTES)?;
        limits::check_page("limit", limit)?;
        let words = words(query);
        if words.is_empty() {
            return Err(StoreError::EmptySearch);
        }
        // One array parameter, folded into one tsquery with `&&`: a word
        // that has no lexeme (punctuation only) drops out, as in FTS5.
        let rows = self
            .client()
            .await?
            .rows(
                "WITH q AS (
                    SELECT tsquery AS query FROM (
                        SELECT string_agg(phraseto_tsquery('simple', w)::text, ' & ')
                                   FILTER (WHERE phraseto_tsquery('simple', w)::text <> '') AS text
                        FROM unnest($1::text[]) AS w
                    ) words, LATERAL (SELECT to_tsquery('simple', COALESCE(words.text, '')) AS tsquery) t
                 )
                 SELECT m.conversation_id, m.id, m.seq, m.role, m.sender, c.source, c.target,
                        ts_headline('simple', m.content, q.query,
                            'StartSel=[, StopSel=], MaxWords=16, MinWords=4, ShortWord=0, MaxFragments=1, FragmentDelimiter=…'),
                        m.created_at
                 FROM q, messages m JOIN conversations c ON c.id = m.conversation_id
                 WHERE numnode(q.query) > 0
                   AND to_tsvector('simple', m.content) @@ q.query
                   AND ($2::text IS NULL OR c.source = $2 OR c.target = $2)
                 ORDER BY m.pos DESC LIMIT $3",
                &[&words as &(dyn tokio_postgres::types::ToSql + Sync), &module, &(limit as i64)],
            )
            .await?;
        all(rows, |r| {
            let message_id: String = r.try_get(1)?;
            let role: String = r.try_get(3)?;
            Ok(SearchHit {
                role: message_column(&message_id, "role").parsed(&role)?,
                conversation_id: r.try_get(0)?,
                message_id,
                seq: r.try_get(2)?,
                sender: r.try_get(4)?,
                source: r.try_get(5)?,
                target: r.try_get(6)?,
                snippet: super::text::restore(r.try_get(7)?),
                created_at: r.try_get(8)?,
            })
        })
    }
}
