//! The fleet on PostgreSQL: nodes and their heartbeats, questions routed
//! to the node that hosts their target (claimed with `FOR UPDATE SKIP
//! LOCKED`, announced with `NOTIFY`), and the leases that end a dead
//! node's claims.

use super::cached::Cached;
use deadpool_postgres::GenericClient;

use super::PostgresStore;
use super::flight::DB_NOW_MS;
use super::listen::{DESCRIPTORS, INSTANCE_EVENTS, OUTCOMES, PROGRESS, QUESTIONS};
use super::rows::{all, message_from_row};
use crate::host::{pid_exists, this_hostname};
use crate::store::columns::MESSAGE_COLUMNS;
use crate::store::decode::{Stored, message_column};
use crate::store::fleet::{
    ClaimedQuery, FleetDescriptor, LeaseExpired, NodeRecord, NodeRow, QueryState, RoutedState,
};
use crate::store::{Result, StoreError};

/// A node's columns, its liveness from its server's row (`s`, joined):
/// one heartbeat per process, whether or not it is a node.
const NODE_COLUMNS: &str = "n.name, n.server_id, n.address, n.version, n.schema_version, n.started_at, COALESCE(s.last_heartbeat, 0), n.modules, n.stopped OR COALESCE(s.stopped, FALSE)";

/// A follow-up prefers the node that answered its conversation's last
/// routed turn (it may hold the warm session): other nodes leave it to that
/// node while that node lives and hosts the target, for at most
/// two seconds. (`$2` this node, `$4` the lease; times by the database.)
fn preference() -> String {
    format!(
        "(COALESCE(m.prefer_node, $2) = $2
          OR m.created_at < {DB_NOW_MS} - 2000
          OR NOT EXISTS (SELECT 1 FROM nodes n JOIN servers s ON s.id = n.server_id
                         WHERE n.name = m.prefer_node
                           AND NOT n.stopped AND NOT s.stopped
                           AND s.last_heartbeat >= {DB_NOW_MS} - $4::bigint
                           AND n.modules::jsonb ? c.target))"
    )
}

/// Every node (or only those hosting `module`), with whether it is alive
/// (heard from within `lease_ms`) and how many questions it holds (not
/// counted when looking for a module's hosts: an asker needs only who).
async fn nodes_in(
    client: &impl Cached,
    lease_ms: i64,
    module: Option<&str>,
) -> Result<Vec<NodeRow>> {
    let rows = client
        .rows(
            &format!(
                "SELECT {NODE_COLUMNS},
                        CASE WHEN $1::text IS NULL
                             THEN (SELECT COUNT(*) FROM messages m WHERE m.claimed_by = n.name AND m.status = 'pending')
                             ELSE 0 END,
                        s.pid, s.hostname, {DB_NOW_MS} - COALESCE(s.last_heartbeat, 0)
                 FROM nodes n LEFT JOIN servers s ON s.id = n.server_id
                 WHERE $1::text IS NULL OR n.modules::jsonb ? $1::text
                 ORDER BY name"
            ),
            &[&module],
        )
        .await?;
    all(rows, |r| {
        let modules: String = r.try_get(7)?;
        let last_heartbeat: i64 = r.try_get(6)?;
        let heard_ms_ago: i64 = r.try_get(12)?;
        let stopped: bool = r.try_get(8)?;
        Ok(NodeRow {
            record: NodeRecord {
                name: r.try_get(0)?,
                server_id: r.try_get(1)?,
                address: r.try_get(2)?,
                version: r.try_get(3)?,
                schema_version: r.try_get(4)?,
                started_at: r.try_get(5)?,
                modules: Stored {
                    table: "nodes",
                    column: "modules",
                    row: &r.try_get::<_, String>(0)?,
                }
                .json(&modules)?,
            },
            last_heartbeat,
            heard_ms_ago,
            stopped,
            alive: !stopped && heard_ms_ago <= lease_ms && still_running(r)?,
            in_flight: r.try_get(9)?,
        })
    })
}

/// A node on this host whose daemon process is gone is not alive, however
/// fresh its last heartbeat (a restarted node takes its name back at once).
fn still_running(r: &tokio_postgres::Row) -> Result<bool> {
    let pid: Option<i64> = r.try_get(10)?;
    let hostname: Option<String> = r.try_get(11)?;
    Ok(match (pid, hostname) {
        (Some(pid), Some(host)) if host == this_hostname() => {
            u32::try_from(pid).map(pid_exists).unwrap_or(false)
        }
        _ => true,
    })
}

impl PostgresStore {
    /// Joins the fleet as `node`. Refused while another live node has the
    /// same name, or when the live nodes run another schema version.
    pub async fn register_node(&self, node: &NodeRecord, lease_ms: i64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.run("LOCK TABLE nodes IN SHARE ROW EXCLUSIVE MODE", &[])
            .await?;
        for other in nodes_in(&tx, lease_ms, None).await? {
            if !other.alive || other.record.server_id == node.server_id {
                continue;
            }
            if other.record.name == node.name {
                return Err(StoreError::NodeNameTaken {
                    name: node.name.clone(),
                    version: other.record.version,
                    heard_s: other.heard_ms_ago / 1000,
                });
            }
            if other.record.schema_version != node.schema_version {
                return Err(StoreError::SchemaMismatch {
                    node: other.record.name,
                    found: other.record.schema_version,
                    known: node.schema_version,
                });
            }
        }
        let modules = serde_json::to_string(&node.modules).unwrap_or_else(|_| "[]".into());
        tx.run(
            "INSERT INTO nodes (name, server_id, address, version, schema_version, started_at, modules, stopped)
             VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE)
             ON CONFLICT (name) DO UPDATE SET server_id = EXCLUDED.server_id, address = EXCLUDED.address,
                 version = EXCLUDED.version, schema_version = EXCLUDED.schema_version,
                 started_at = EXCLUDED.started_at, modules = EXCLUDED.modules, stopped = FALSE",
            &[
                &node.name,
                &node.server_id,
                &node.address,
                &node.version,
                &node.schema_version,
                &node.started_at,
                &modules,
            ],
        )
        .await?;
        // Its liveness is its process's server row (registered by the
        // daemon before it joins; made here if not, so a node is never
        // without a heartbeat).
        tx.run(
            &format!(
                "INSERT INTO servers (id, pid, hostname, module, started_at, last_heartbeat, stopped)
                 VALUES ($1, 0, '', NULL, $2, {DB_NOW_MS}, FALSE)
                 ON CONFLICT (id) DO UPDATE SET last_heartbeat = EXCLUDED.last_heartbeat, stopped = FALSE"
            ),
            &[&node.server_id, &node.started_at],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The node's heartbeat: its process's server row beats (the one
    /// liveness record a process has), the node hosts `modules`, and it
    /// renews the leases of the questions it holds, in one statement, by
    /// the database's clock. Returns false when the name now belongs to
    /// another process (this one was taken for dead): then nothing beats.
    pub async fn node_heartbeat(
        &self,
        name: &str,
        server_id: &str,
        modules: &[String],
        lease_ms: i64,
    ) -> Result<bool> {
        let modules = serde_json::to_string(modules).unwrap_or_else(|_| "[]".into());
        let row = self
            .client()
            .await?
            .row(
                &format!(
                    "WITH beat AS (
                         UPDATE nodes SET modules = $3
                         WHERE name = $1 AND server_id = $2 AND NOT stopped RETURNING name),
                     alive AS (
                         UPDATE servers SET last_heartbeat = {DB_NOW_MS}
                         WHERE id = $2 AND EXISTS (SELECT 1 FROM beat)),
                     renewed AS (
                         UPDATE messages SET lease_until = {DB_NOW_MS} + $4::bigint
                         WHERE claimed_by = (SELECT name FROM beat) AND status = 'pending')
                     SELECT EXISTS (SELECT 1 FROM beat)"
                ),
                &[&name, &server_id, &modules, &lease_ms],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The node leaves the fleet (a clean stop).
    pub async fn stop_node(&self, name: &str, server_id: &str) -> Result<()> {
        self.client()
            .await?
            .run(
                "UPDATE nodes SET stopped = TRUE WHERE name = $1 AND server_id = $2",
                &[&name, &server_id],
            )
            .await?;
        Ok(())
    }

    pub async fn nodes(&self, lease_ms: i64) -> Result<Vec<NodeRow>> {
        nodes_in(&self.client().await?, lease_ms, None).await
    }

    /// The nodes that host (or hosted) `module`.
    pub async fn nodes_hosting(&self, module: &str, lease_ms: i64) -> Result<Vec<NodeRow>> {
        nodes_in(&self.client().await?, lease_ms, Some(module)).await
    }

    /// Hands a stored (pending) query to the fleet: a node hosting
    /// `target` will claim it. `route` is what the answering node needs
    /// of the request (JSON).
    pub async fn route_query(
        &self,
        query_id: &str,
        target: &str,
        route: &str,
        prefer: Option<&str>,
    ) -> Result<()> {
        // One statement: the notice goes out only if the query was routed,
        // when the statement commits.
        let routed = self
            .client()
            .await?
            .rows(
                "WITH routed AS (
                     UPDATE messages SET routed = TRUE, route = $2, prefer_node = $5
                     WHERE id = $1 AND status = 'pending' RETURNING id)
                 SELECT pg_notify($3, $4) FROM routed",
                &[&query_id, &route, &QUESTIONS, &target, &prefer],
            )
            .await?;
        if routed.is_empty() {
            return Err(StoreError::UnknownMessage(query_id.to_string()));
        }
        Ok(())
    }

    /// Claims up to `max` of the oldest routed questions to `hosted` that
    /// no node holds, under a lease of `lease_ms` (by the database's
    /// clock): a node asks for as many as it has free slots, so it holds
    /// only what it runs. Concurrent claimers skip each other's rows
    /// (`SKIP LOCKED`), so each question is claimed once. One statement.
    pub async fn claim_queries(
        &self,
        node: &str,
        hosted: &[String],
        lease_ms: i64,
        max: usize,
    ) -> Result<Vec<ClaimedQuery>> {
        if hosted.is_empty() || max == 0 {
            return Ok(Vec::new());
        }
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "UPDATE messages SET claimed_by = $2, lease_until = {DB_NOW_MS} + $4::bigint
                     WHERE id IN (
                         SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
                         WHERE m.routed AND m.status = 'pending' AND m.claimed_by IS NULL AND c.target = ANY($1)
                           AND {preference}
                         ORDER BY m.pos LIMIT $3 FOR UPDATE OF m SKIP LOCKED)
                     RETURNING {MESSAGE_COLUMNS}, route, retries, pos",
                    preference = preference()
                ),
                &[&hosted, &node, &(max as i64), &lease_ms],
            )
            .await?;
        let mut claimed = all(rows, |row| {
            Ok((
                row.try_get::<_, i64>(26)?,
                ClaimedQuery {
                    query: message_from_row(row)?,
                    route: row.try_get::<_, Option<String>>(24)?.unwrap_or_default(),
                    retries: row.try_get(25)?,
                },
            ))
        })?;
        // Oldest first, as they were asked.
        claimed.sort_by_key(|(pos, _)| *pos);
        Ok(claimed.into_iter().map(|(_, c)| c).collect())
    }

    /// Where a routed query stands, with its note and outcome: one
    /// statement (the asker's one round trip per look).
    pub async fn routed_state(&self, query_id: &str) -> Result<RoutedState> {
        let columns = crate::store::columns::message_columns_of_m();
        let row = self
            .client()
            .await?
            .row_opt(
                &format!(
                    "SELECT q.status, q.claimed_by, q.retries, q.error, q.context_note, m.id IS NOT NULL, {columns}
                     FROM messages q LEFT JOIN messages m ON m.reply_to = q.id
                     WHERE q.id = $1"
                ),
                &[&query_id],
            )
            .await?
            .ok_or_else(|| StoreError::UnknownMessage(query_id.to_string()))?;
        let status: String = row.try_get(0)?;
        let has_outcome: bool = row.try_get(5)?;
        Ok(RoutedState {
            state: QueryState {
                status: message_column(query_id, "status").parsed(&status)?,
                claimed_by: row.try_get(1)?,
                retries: row.try_get(2)?,
                error: row.try_get(3)?,
            },
            note: super::text::restore_opt(row.try_get(4)?),
            outcome: has_outcome
                .then(|| super::rows::message_at(&row, 6))
                .transpose()?,
        })
    }

    /// Where a query stands (for an asker waiting on another node).
    pub async fn query_state(&self, query_id: &str) -> Result<QueryState> {
        let row = self
            .client()
            .await?
            .row_opt(
                "SELECT status, claimed_by, retries, error FROM messages WHERE id = $1",
                &[&query_id],
            )
            .await?
            .ok_or_else(|| StoreError::UnknownMessage(query_id.to_string()))?;
        let status: String = row.try_get(0)?;
        Ok(QueryState {
            status: message_column(query_id, "status").parsed(&status)?,
            claimed_by: row.try_get(1)?,
            retries: row.try_get(2)?,
            error: row.try_get(3)?,
        })
    }

    /// Ends the claims whose lease ran out (by the database's clock):
    /// closed `interrupted` (never replayed), except that a question to one
    /// of `requeue_modules` that was never queued again goes back to the
    /// fleet, once. One statement for all of them; rows being finished
    /// right now are locked and skipped.
    pub async fn expire_leases(&self, requeue_modules: &[String]) -> Result<Vec<LeaseExpired>> {
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "WITH expired AS (
                         SELECT m.id, m.claimed_by, c.target,
                                (m.retries = 0 AND c.target = ANY($1)) AS requeue
                         FROM messages m JOIN conversations c ON c.id = m.conversation_id
                         WHERE m.status = 'pending' AND m.claimed_by IS NOT NULL
                           AND m.lease_until < {DB_NOW_MS}
                         FOR UPDATE OF m SKIP LOCKED),
                     ended AS (
                         UPDATE messages m SET
                             claimed_by = CASE WHEN e.requeue THEN NULL ELSE m.claimed_by END,
                             lease_until = CASE WHEN e.requeue THEN NULL ELSE m.lease_until END,
                             retries = m.retries + CASE WHEN e.requeue THEN 1 ELSE 0 END,
                             status = CASE WHEN e.requeue THEN m.status ELSE 'interrupted' END,
                             error = CASE WHEN e.requeue THEN m.error ELSE
                                 'node \"' || e.claimed_by || '\" stopped renewing its lease on this question (it died or lost the database); it is not asked again' END
                         FROM expired e WHERE m.id = e.id
                         RETURNING m.id, e.claimed_by, e.target, e.requeue)
                     SELECT id, claimed_by, requeue,
                            pg_notify(CASE WHEN requeue THEN $2 ELSE $3 END,
                                      CASE WHEN requeue THEN target ELSE id END)
                     FROM ended"
                ),
                &[&requeue_modules, &QUESTIONS, &OUTCOMES],
            )
            .await?;
        all(rows, |row| {
            let query_id: String = row.try_get(0)?;
            let node: String = row.try_get(1)?;
            let requeue: bool = row.try_get(2)?;
            Ok(if requeue {
                LeaseExpired::Requeued { query_id, node }
            } else {
                LeaseExpired::Interrupted { query_id, node }
            })
        })
    }

    /// Shares (or withdraws, `removed`) a module descriptor with the fleet
    /// and tells every node.
    pub async fn publish_descriptor(
        &self,
        name: &str,
        node: &str,
        descriptor: &str,
        removed: bool,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.run(
            &format!(
                "INSERT INTO fleet_descriptors (name, node, descriptor, updated_at, removed)
                 VALUES ($1, $2, $3, {DB_NOW_MS}, $4)
                 ON CONFLICT (name) DO UPDATE SET node = EXCLUDED.node, descriptor = EXCLUDED.descriptor,
                     updated_at = EXCLUDED.updated_at, removed = EXCLUDED.removed"
            ),
            &[&name, &node, &descriptor, &removed],
        )
        .await?;
        tx.run("SELECT pg_notify($1, $2)", &[&DESCRIPTORS, &name])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every descriptor shared with the fleet.
    pub async fn fleet_descriptors(&self) -> Result<Vec<FleetDescriptor>> {
        let rows = self
            .client()
            .await?
            .rows(
                "SELECT name, node, descriptor, removed FROM fleet_descriptors ORDER BY name",
                &[],
            )
            .await?;
        all(rows, |r| {
            Ok(FleetDescriptor {
                name: r.try_get(0)?,
                node: r.try_get(1)?,
                descriptor: r.try_get(2)?,
                removed: r.try_get(3)?,
            })
        })
    }

    /// Tells the asker of `query_id`, wherever it is, what its agent is
    /// doing (a notice only: progress is not stored). A notice holds under
    /// 8,000 bytes, so a long line is cut.
    pub async fn announce_progress(&self, query_id: &str, message: &str) -> Result<()> {
        let message = crate::store::limits::clip(message, 7000);
        self.client()
            .await?
            .run(
                "SELECT pg_notify($1, $2)",
                &[&PROGRESS, &format!("{query_id} {message}")],
            )
            .await?;
        Ok(())
    }

    /// Publishes events of `instance_id` to whoever watches it from
    /// another node, in order, in one round trip. Each notice holds under
    /// 8,000 bytes: the caller cuts long texts first.
    pub async fn announce_instance_events(
        &self,
        instance_id: &str,
        events: &[String],
    ) -> Result<()> {
        self.client()
            .await?
            .run(
                "SELECT pg_notify($1, $2 || ' ' || e.event)
                 FROM unnest($3::text[]) WITH ORDINALITY AS e(event, n) ORDER BY e.n",
                &[&INSTANCE_EVENTS, &instance_id, &events],
            )
            .await?;
        Ok(())
    }
}
