//! Keeping secrets out of what is stored and shown: the values of secret
//! environment variables (the child `env` tables of the config, and the
//! variables this process inherited whose names say they are secret) and
//! passwords inside URLs are replaced by `[redacted]` wherever child output
//! is kept (errors, `instance_status`, journals, exports, logs).

use std::borrow::Cow;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not treated as secrets: replacing every
/// "1" or "true" in a child's output would destroy it and hide nothing.
const MIN_SECRET_LEN: usize = 6;

/// Parts of an environment variable's name that mark its value as secret.
const SECRET_NAME_PARTS: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PAT",
    "CREDENTIAL",
    "AUTH",
    "COOKIE",
    "SESSION",
    "PRIVATE",
];

/// Whether an environment variable's name says its value is secret
/// (`ANTHROPIC_API_KEY`, `GITHUB_PAT`, `DB_PASSWORD`, ...). Names are split
/// at `_`, `-` and `.`, so `PATH` or `TOKENIZERS_PARALLELISM` are not.
pub fn is_secret_name(name: &str) -> bool {
    name.to_ascii_uppercase()
        .split(['_', '-', '.'])
        .any(|part| SECRET_NAME_PARTS.contains(&part))
}

/// Replaces known secret values and URL passwords in text.
#[derive(Debug, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for the output of children started with `child_env`
    /// (every value of which is treated as secret) and this process's
    /// inherited environment (values of variables with secret names).
    pub fn for_children<'a>(
        child_env: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Redactor {
        let mut secrets: Vec<String> = child_env.into_iter().map(|(_, v)| v.clone()).collect();
        secrets.extend(
            std::env::vars()
                .filter(|(k, _)| is_secret_name(k))
                .map(|(_, v)| v),
        );
        Redactor::with_secrets(secrets)
    }

    pub fn with_secrets(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        match redact_url_passwords(&out) {
            Cow::Borrowed(_) => out,
            Cow::Owned(s) => Cow::Owned(s),
        }
    }
}

/// `scheme://user:password@host` becomes `scheme://user:[redacted]@host`.
pub fn redact_url_passwords(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first '/', whitespace or quote.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at_sign), Some(colon)) if colon < at_sign => {
                out.push_str(&authority[..=colon]);
                out.push_str(REDACTED);
                out.push_str(&authority[at_sign..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_by_their_parts() {
        for name in [
            "ANTHROPIC_API_KEY",
            "GITHUB_PAT",
            "db_password",
            "X-Auth-Token",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["PATH", "HOME", "TOKENIZERS_PARALLELISM", "PATHEXT"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn known_values_and_url_passwords_are_replaced() {
        let r = Redactor::with_secrets(["sk-ant-123456".to_string(), "1".to_string()]);
        assert_eq!(
            r.redact("key sk-ant-123456 at postgres://u:pw@h/db, 1 left"),
            "key [redacted] at postgres://u:[redacted]@h/db, 1 left"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
        assert!(matches!(r.redact("https://host/path"), Cow::Borrowed(_)));
    }
}
