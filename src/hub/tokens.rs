//! Who is calling: the identity a request acts as, and the access tokens
//! that give remote hosts one.
//!
//! A token is `cct_<id>_<secret>`. The id is public (it names the token in
//! `tokens list` and in logs); the secret is 64 hex digits holding 244
//! random bits (two v4 UUIDs, from the OS random source) and is shown
//! once, at creation. The store keeps a SHA-256 of the
//! secret only: the secret is random, so a fast hash is as strong as a slow
//! one here, and checking costs microseconds per request.

use sha2::{Digest, Sha256};

use super::HubError;
use crate::store::{NewToken, TokenRecord};

/// What every token starts with, so a leaked one is recognisable (secret
/// scanners key on such prefixes).
pub const TOKEN_PREFIX: &str = "cct_";

/// How often a token's `last_used_at` is written, at most.
const TOUCH_EVERY_MS: i64 = 60_000;

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The operator: a local face (stdio, the CLI, the daemon's socket) or
    /// an admin token. May do everything.
    Operator,
    /// A remote host holding a module's token: acts as that module.
    Module { module: String, token_id: String },
}

impl Caller {
    /// The module this caller is bound to, if any.
    pub fn module(&self) -> Option<&str> {
        match self {
            Caller::Operator => None,
            Caller::Module { module, .. } => Some(module),
        }
    }

    /// Whether this caller may read or act on a conversation between
    /// `source` and `target`: the operator always, a module when it is one
    /// of the two.
    pub fn is_party(&self, source: &str, target: &str) -> bool {
        match self.module() {
            None => true,
            Some(m) => m == source || m == target,
        }
    }
}

/// Why a bearer token was refused. The words never include the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no bearer token: send `Authorization: Bearer cct_...` (`claude-comms tokens create` makes one)"
    )]
    Missing,
    #[error("the token is not a claude-comms token")]
    Malformed,
    #[error("unknown token")]
    Unknown,
    #[error("token {0} is revoked")]
    Revoked(String),
    #[error("token {0} has expired")]
    Expired(String),
    #[error("token {id} is bound to module \"{module}\", which is not registered")]
    UnknownModule { id: String, module: String },
}

impl AuthError {
    /// The `WWW-Authenticate` challenge that goes with this refusal (RFC 6750
    /// §3: no `error` attribute when no credentials were sent).
    pub fn challenge(&self) -> String {
        match self {
            AuthError::Missing => r#"Bearer realm="claude-comms""#.to_string(),
            other => format!(
                r#"Bearer realm="claude-comms", error="invalid_token", error_description="{}""#,
                other.to_string().replace('"', "'")
            ),
        }
    }
}

/// The token of an `Authorization` header's value (`None`: no header), for
/// every face that takes `Authorization: Bearer <token>`.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

/// What `tokens create` asks for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The module the token acts as; `None` with `admin` for an operator token.
    pub module: Option<String>,
    pub admin: bool,
    pub label: Option<String>,
    /// How long it works, in ms; `None`: until revoked.
    pub lifetime_ms: Option<i64>,
}

/// A token just made: the secret is in `token`, here and nowhere else.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: String,
    pub record: TokenRecord,
}

fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equal-length comparison in time independent of where the inputs differ,
/// so response times do not reveal how much of a hash matched.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 122 random bits per v4 UUID, drawn from the OS source (getrandom).
fn random_hex(uuids: usize) -> String {
    (0..uuids)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect()
}

/// Splits `cct_<id>_<secret>` into id and secret.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.trim().strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id) && id.len() <= 32 && hex(secret) && secret.len() <= 128).then_some((id, secret))
}

/// The [`Tokens`](crate::hub::Tokens) service's own state: when this
/// process last recorded each token's use.
#[derive(Default)]
pub(super) struct TokensState {
    touches: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl<'h> crate::hub::Tokens<'h> {
    /// Makes a token; the returned secret is not stored anywhere.
    pub async fn create(self, request: TokenRequest) -> Result<CreatedToken, HubError> {
        match (&request.module, request.admin) {
            (Some(_), true) => {
                return Err(HubError::BadRequest(
                    "a token is either bound to a module (--module) or an operator token (--admin), not both".into(),
                ));
            }
            (None, false) => {
                return Err(HubError::BadRequest(
                    "say what the token acts as: --module NAME (a host working in that module) or --admin (the operator)".into(),
                ));
            }
            (Some(module), false) => {
                // A token for a module that does not exist would fail at
                // every request; say so now.
                self.modules().describe(module)?;
            }
            (None, true) => {}
        }
        if let Some(ms) = request.lifetime_ms
            && ms <= 0
        {
            return Err(HubError::BadRequest(
                "--expires must be a positive duration, such as 30d".into(),
            ));
        }
        let id = random_hex(1)[..12].to_string();
        let secret = random_hex(2);
        let new = NewToken {
            id: id.clone(),
            secret_hash: hash_secret(&secret),
            module: request.module,
            admin: request.admin,
            label: request.label,
            lifetime_ms: request.lifetime_ms,
        };
        let record = self.store.insert_token(&new).await?;
        tracing::info!(token = %record.id, module = ?record.module, admin = record.admin, "token created");
        Ok(CreatedToken {
            token: format!("{TOKEN_PREFIX}{id}_{secret}"),
            record,
        })
    }

    pub async fn list(self) -> Result<Vec<TokenRecord>, HubError> {
        Ok(self.store.tokens().await?)
    }

    /// Revokes a token at once: the next request that carries it is refused.
    pub async fn revoke(self, id: &str) -> Result<TokenRecord, HubError> {
        // The id as `tokens list` shows it, or the whole token pasted.
        let id = parse_token(id)
            .map_or(id.trim().trim_start_matches(TOKEN_PREFIX), |(id, _)| id)
            .to_string();
        self.store.revoke_token(&id).await?;
        let record =
            self.store.token(&id).await?.ok_or_else(|| {
                HubError::BadRequest("the token vanished while revoking it".into())
            })?;
        tracing::info!(token = %record.id, "token revoked");
        Ok(record)
    }

    /// Who a bearer token acts as. Checked against the store on every
    /// request, so a revocation takes effect at the next one.
    pub async fn authenticate(self, bearer: &str) -> Result<Caller, AuthError> {
        let (id, secret) = parse_token(bearer).ok_or(AuthError::Malformed)?;
        let (id, presented) = (id.to_string(), hash_secret(secret));
        let record = self.token_record(&id).await?;
        if !same_bytes(record.secret_hash.as_bytes(), presented.as_bytes()) {
            return Err(AuthError::Unknown);
        }
        let now = crate::time::now_ms();
        let caller = self.caller_from_record(record)?;
        // `last used` is for people (minutes matter, not requests): write
        // it at most once a minute per token, not once per request.
        let due = {
            let mut touches = self
                .tokens_state
                .touches
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let due = touches.get(&id).is_none_or(|at| now - at >= TOUCH_EVERY_MS);
            if due {
                touches.insert(id.clone(), now);
            }
            due
        };
        if due && let Err(e) = self.store.touch_token(&id, now).await {
            tracing::warn!(error = %e, "cannot record a token's last use");
        }
        Ok(caller)
    }

    /// Who the token `id` acts as now, without its secret: the same answers
    /// as [`Tokens::authenticate`](crate::hub::Tokens::authenticate) for a revoked, expired or unknown token (the
    /// console keeps only a session's token id, and ends the session at the
    /// next request after a revocation).
    pub async fn caller_of(self, id: &str) -> Result<Caller, AuthError> {
        let record = self.token_record(id).await?;
        self.caller_from_record(record)
    }

    /// The stored token `id`; a store that cannot be read refuses it.
    async fn token_record(self, id: &str) -> Result<TokenRecord, AuthError> {
        self.store
            .token(id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot read the token table");
                AuthError::Unknown
            })?
            .ok_or(AuthError::Unknown)
    }

    /// Who a stored token acts as, unless it is revoked, expired (by the
    /// store's clock) or bound to a module that is gone.
    fn caller_from_record(self, record: TokenRecord) -> Result<Caller, AuthError> {
        let id = record.id;
        if record.revoked_at.is_some() {
            return Err(AuthError::Revoked(id));
        }
        if record.expired {
            return Err(AuthError::Expired(id));
        }
        match (record.module, record.admin) {
            (None, true) => Ok(Caller::Operator),
            (Some(module), _) if self.modules().has(&module) => Ok(Caller::Module {
                module,
                token_id: id,
            }),
            (Some(module), _) => Err(AuthError::UnknownModule { id, module }),
            // Neither bound nor admin: create_token never makes one.
            (None, false) => Err(AuthError::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_gives_its_token_and_anything_else_is_refused() {
        assert_eq!(bearer_token(Some("Bearer cct_a_b")), Ok("cct_a_b"));
        assert_eq!(bearer_token(Some("  bearer   cct_a_b ")), Ok("cct_a_b"));
        assert_eq!(bearer_token(None), Err(AuthError::Missing));
        assert_eq!(
            bearer_token(Some("Basic dXNlcg==")),
            Err(AuthError::Malformed)
        );
        assert_eq!(bearer_token(Some("cct_a_b")), Err(AuthError::Malformed));
        assert!(!AuthError::Missing.challenge().contains("error="));
        assert!(
            AuthError::Unknown
                .challenge()
                .contains(r#"error="invalid_token""#)
        );
    }

    #[test]
    fn tokens_parse_only_in_their_own_shape() {
        assert_eq!(
            parse_token("cct_abc123_deadbeef"),
            Some(("abc123", "deadbeef"))
        );
        assert_eq!(
            parse_token(" cct_abc123_deadbeef\n"),
            Some(("abc123", "deadbeef"))
        );
        for bad in [
            "",
            "cct_",
            "cct_abc",
            "cct__dead",
            "cct_abc_",
            "abc_dead",
            "cct_ab c_dd",
            "cct_x1_dd",
        ] {
            assert_eq!(parse_token(bad), None, "{bad:?}");
        }
        assert_eq!(parse_token(&format!("cct_a_{}", "f".repeat(129))), None);
    }

    #[test]
    fn hashes_compare_whole() {
        let h = hash_secret("abc");
        assert_eq!(h.len(), 64);
        assert!(same_bytes(h.as_bytes(), hash_secret("abc").as_bytes()));
        assert!(!same_bytes(h.as_bytes(), hash_secret("abd").as_bytes()));
        assert!(!same_bytes(b"ab", b"abc"));
    }

    #[test]
    fn a_module_caller_is_party_only_to_its_own_conversations() {
        let caller = Caller::Module {
            module: "a".into(),
            token_id: "t".into(),
        };
        assert!(caller.is_party("a", "b"));
        assert!(caller.is_party("b", "a"));
        assert!(!caller.is_party("b", "c"));
        assert!(Caller::Operator.is_party("b", "c"));
    }
}
