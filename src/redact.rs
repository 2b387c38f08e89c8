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

/// `scheme://user:password@host` becomes `scheme://user:[redacted]@host`;
/// so does the `password=...` pair of a libpq key=value connection string
/// (`host=db password='x y'`).
pub fn redact_url_passwords(text: &str) -> Cow<'_, str> {
    match redact_urls(text) {
        Cow::Borrowed(_) => redact_key_value_passwords(text),
        Cow::Owned(out) => match redact_key_value_passwords(&out) {
            Cow::Borrowed(_) => Cow::Owned(out),
            Cow::Owned(more) => Cow::Owned(more),
        },
    }
}

/// `password = value` (a word of its own; the value bare, or quoted with
/// `'` and backslash escapes, even unterminated) with the value hidden.
fn redact_key_value_passwords(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("password") {
        let at = from + i;
        from = at + "password".len();
        if at > 0 && !text[..at].ends_with(char::is_whitespace) {
            continue;
        }
        let rest = &text[from..];
        let after_key = rest.trim_start();
        let Some(value) = after_key.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let start = text.len() - value.len();
        let end = match value.strip_prefix('\'') {
            Some(quoted) => {
                let mut escaped = false;
                quoted
                    .char_indices()
                    .find(|(_, c)| {
                        let close = *c == '\'' && !escaped;
                        escaped = *c == '\\' && !escaped;
                        close
                    })
                    .map_or(text.len(), |(i, _)| start + 1 + i + 1)
            }
            None => value
                .find(char::is_whitespace)
                .map_or(text.len(), |e| start + e),
        };
        if start < end {
            spans.push((start, end));
        }
        from = end.max(from);
    }
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for (start, end) in spans.into_iter().rev() {
        out.replace_range(start..end, REDACTED);
    }
    Cow::Owned(out)
}

fn redact_urls(text: &str) -> Cow<'_, str> {
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
    // A password given as a URL option (`postgres://h/db?password=x`).
    let lower = out.to_ascii_lowercase();
    let mut options = Vec::new();
    for marker in ["?password=", "&password="] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(marker) {
            let start = from + i + marker.len();
            let end = out[start..]
                .find(|c: char| c == '&' || c.is_whitespace() || c == '"' || c == '\'')
                .map_or(out.len(), |e| start + e);
            options.push((start, end));
            from = end;
        }
    }
    options.sort_unstable();
    for (start, end) in options.into_iter().rev() {
        if start < end {
            out.replace_range(start..end, REDACTED);
            changed = true;
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// A value as `config show` prints it (`key` is its dotted key). Hidden:
/// every value of a child `env` table, whatever its name (`GITHUB_PAT`,
/// `DATABASE_URL`); passwords inside URLs anywhere; in an `args` list, the
/// value of a flag whose name says it is secret (`--token=X`, `--api-key X`).
/// Shown as they are: plain settings, whatever their name
/// (`context.token_budget`).
pub fn config_value(key: &str, value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let in_env_table = key.split('.').any(|part| part == "env");
    let empty_table = matches!(&value, Value::Object(m) if m.is_empty());
    if in_env_table && !empty_table {
        return Value::String(REDACTED.into());
    }
    match value {
        Value::String(s) => Value::String(redact_url_passwords(&s).into_owned()),
        Value::Array(items) if key == "args" || key.ends_with(".args") => {
            Value::Array(redact_args(items))
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| config_value("", v)).collect())
        }
        other => other,
    }
}

/// Command-line arguments with secret flag values hidden.
fn redact_args(items: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    use serde_json::Value;
    let flag_name = |s: &str| s.trim_start_matches('-').to_string();
    let mut hide_next = false;
    items
        .into_iter()
        .map(|item| {
            let Value::String(arg) = item else {
                hide_next = false;
                return item;
            };
            if std::mem::take(&mut hide_next) {
                return Value::String(REDACTED.into());
            }
            if arg.starts_with('-') {
                match arg.split_once('=') {
                    Some((flag, _)) if is_secret_name(&flag_name(flag)) => {
                        return Value::String(format!("{flag}={REDACTED}"));
                    }
                    None if is_secret_name(&flag_name(&arg)) => hide_next = true,
                    _ => {}
                }
            }
            Value::String(redact_url_passwords(&arg).into_owned())
        })
        .collect()
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
    fn config_values_hide_env_tables_urls_and_secret_flags_only() {
        use serde_json::json;
        assert_eq!(
            config_value("instances.claude_stream.env.LOG_STYLE", json!("json")),
            REDACTED
        );
        assert_eq!(
            config_value("instances.claude_stream.env", json!({})),
            json!({})
        );
        assert_eq!(
            config_value("database", json!("postgres://u:pw@h/db")),
            "postgres://u:[redacted]@h/db"
        );
        assert_eq!(
            config_value("store.url", json!("host=h password = 'p w\\'x' user=u")),
            "host=h password = [redacted] user=u"
        );
        assert_eq!(
            config_value("store.url", json!("host=h password='unterminated")),
            "host=h password=[redacted]"
        );
        assert_eq!(
            config_value(
                "instances.claude_code_mcp.args",
                json!(["-y", "--api-key", "k1", "--token=k2", "--port", "8080"])
            ),
            json!([
                "-y",
                "--api-key",
                REDACTED,
                "--token=[redacted]",
                "--port",
                "8080"
            ])
        );
        assert_eq!(config_value("context.token_budget", json!(24000)), 24000);
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
