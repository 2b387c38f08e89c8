//! `claude-comms tokens create | list | revoke`: the access tokens hosts on
//! other machines present to the daemon's HTTP endpoint. A module token
//! acts as its module; an operator token (`--admin`) may do everything.

use clap::Subcommand;

use super::output::Output;
use crate::hub::{Hub, TokenRecord, TokenRequest};

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a token and print it (once: only a hash is kept).
    Create {
        /// The module the token acts as (the host works in that module).
        #[arg(long, required_unless_present = "admin", conflicts_with = "admin")]
        module: Option<String>,
        /// An operator token: every tool, instance control and module registration.
        #[arg(long)]
        admin: bool,
        /// How long the token works (30d, 12h, 2w); without it, until revoked.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// A note shown by `tokens list` (where the token is used).
        #[arg(long)]
        label: Option<String>,
    },
    /// Every token, with what it acts as and whether it still works.
    List,
    /// Revoke a token: the next request carrying it is refused.
    Revoke {
        /// The token's id (the part after `cct_`, as `tokens list` shows it).
        id: String,
    },
}

pub async fn run(hub: &Hub, cmd: TokensCommand, out: &Output) -> anyhow::Result<i32> {
    match cmd {
        TokensCommand::Create {
            module,
            admin,
            expires,
            label,
        } => create(hub, module, admin, expires.as_deref(), label, out).await,
        TokensCommand::List => list(hub, out).await,
        TokensCommand::Revoke { id } => revoke(hub, &id, out).await,
    }
}

/// `tokens create`: the token alone on stdout, what it is on stderr.
async fn create(
    hub: &Hub,
    module: Option<String>,
    admin: bool,
    expires: Option<&str>,
    label: Option<String>,
    out: &Output,
) -> anyhow::Result<i32> {
    let lifetime_ms = match expires.map(super::when::parse_age) {
        None => None,
        Some(Ok(ms)) => Some(ms),
        Some(Err(e)) => {
            out.note(format!("error: --expires: {e}"))?;
            return Ok(2);
        }
    };
    let request = TokenRequest {
        module,
        admin,
        label,
        lifetime_ms,
    };
    let created = match hub.tokens().create(request).await {
        Ok(created) => created,
        Err(e) => return out.error_exit(e),
    };
    if out.json {
        out.json(&serde_json::json!({
            "token": created.token,
            "id": created.record.id,
            "module": created.record.module,
            "admin": created.record.admin,
            "expires_at": created.record.expires_at,
        }))?;
    } else {
        // The token alone on stdout, so `$(claude-comms tokens create ...)` captures it.
        out.line(&created.token)?;
        out.note(format!(
            "token {} for {}; shown this once, keep it secret. A host sends it as `Authorization: Bearer <token>`.",
            created.record.id,
            acts_as(&created.record)
        ))?;
    }
    Ok(0)
}

/// `tokens list`: every token, what it acts as and whether it still works.
async fn list(hub: &Hub, out: &Output) -> anyhow::Result<i32> {
    let tokens = hub.tokens().list().await?;
    if out.json {
        out.json(&tokens)?;
        return Ok(0);
    }
    let now = crate::time::now_ms();
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                acts_as(t),
                state(t, now),
                super::when::ago(t.created_at, now),
                t.last_used_at
                    .map_or("never".into(), |at| super::when::ago(at, now)),
                t.label.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.table(
        &["ID", "ACTS AS", "STATE", "CREATED", "USED", "LABEL"],
        &rows,
    )?;
    Ok(0)
}

/// `tokens revoke ID`.
async fn revoke(hub: &Hub, id: &str, out: &Output) -> anyhow::Result<i32> {
    let record = match hub.tokens().revoke(id).await {
        Ok(record) => record,
        Err(e) => return out.error_exit(e),
    };
    if out.json {
        out.json(&record)?;
    } else {
        out.line(format!(
            "token {} revoked ({})",
            record.id,
            acts_as(&record)
        ))?;
    }
    Ok(0)
}

fn acts_as(token: &TokenRecord) -> String {
    match &token.module {
        Some(module) => format!("module {module}"),
        None => "operator (admin)".to_string(),
    }
}

fn state(token: &TokenRecord, now: i64) -> String {
    if token.revoked_at.is_some() {
        "revoked".into()
    } else if let Some(at) = token.expires_at {
        if at <= now {
            "expired".into()
        } else {
            format!("expires in {}", super::when::span((at - now) / 1000))
        }
    } else {
        "active".into()
    }
}
