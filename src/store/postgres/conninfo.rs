//! Connection strings as libpq takes them: the URL form
//! (`postgresql://user:pw@host:5432/db?sslmode=require`, also
//! `postgres://`) and the key=value form (`host=db port=5432 user=comms
//! dbname=cc`). Both become one list of libpq keywords and values, so
//! everything after this (TLS, passwords, the shown form) treats them
//! alike.
//!
//! Nothing here ever puts a password in an error: an error names the
//! problem and the keyword, never the string it was found in.

/// The keywords of libpq that claude-comms understands. A key=value
/// string is recognised as PostgreSQL when one of its keys is one of
/// these (so a SQLite path with a `=` in it stays a path, and a mistyped
/// keyword beside `host=` is named as unknown).
pub(super) const KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "options",
    "application_name",
    "fallback_application_name",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
    "sslmode",
    "sslnegotiation",
    "sslrootcert",
    "sslcert",
    "sslkey",
];

/// A connection string taken apart: keyword and value pairs in the order
/// written (a later pair wins over an earlier one of the same keyword).
#[derive(Debug, Clone, Default)]
pub(super) struct ConnInfo {
    pub(super) pairs: Vec<(String, String)>,
}

impl ConnInfo {
    /// The value of `key`, the last one written.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` (replacing any earlier value).
    pub(super) fn set(&mut self, key: &str, value: &str) {
        self.pairs.retain(|(k, _)| k != key);
        self.pairs.push((key.to_string(), value.to_string()));
    }

    /// Removes `key`; its last value.
    pub(super) fn take(&mut self, key: &str) -> Option<String> {
        let value = self.get(key).map(str::to_string);
        self.pairs.retain(|(k, _)| k != key);
        value
    }

    /// The pairs as a key=value string with every value quoted (libpq's
    /// quoting: `'...'`, with `\'` and `\\`), for tokio-postgres's parser.
    pub(super) fn to_key_value(&self) -> String {
        self.pairs
            .iter()
            .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Whether `text` starts like a PostgreSQL URL.
pub(super) fn has_url_scheme(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Whether `text` is meant as a key=value connection string: its first
/// key is a libpq keyword claude-comms knows. (Only the first key is
/// read, so that a string with a mistake further on is still taken as
/// one, and refused naming the mistake.)
pub(super) fn is_key_value(text: &str) -> bool {
    let text = text.trim_start();
    let key_end = text
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(text.len());
    !has_url_scheme(text)
        && KEYWORDS.contains(&&text[..key_end])
        && text[key_end..].trim_start().starts_with('=')
}

/// Parses either form. The error names what is wrong (a keyword, a
/// position), never the text itself, which may hold a password.
pub(super) fn parse(text: &str) -> Result<ConnInfo, String> {
    let info = if has_url_scheme(text) {
        parse_url(text.trim())?
    } else {
        parse_key_value(text)?
    };
    if let Some((key, _)) = info
        .pairs
        .iter()
        .find(|(k, _)| !KEYWORDS.contains(&k.as_str()))
    {
        return Err(format!(
            "unknown connection option `{key}` (claude-comms takes libpq's {})",
            KEYWORDS.join(", ")
        ));
    }
    Ok(info)
}

/// `key=value key='quoted value'`, as libpq's `PQconnectdb` reads it:
/// spaces around `=` allowed, `\` escapes the next character.
fn parse_key_value(text: &str) -> Result<ConnInfo, String> {
    let mut info = ConnInfo::default();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(info);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!(
                "`{}` has no `=value` (a connection string is key=value pairs, or a postgres:// URL)",
                shorten(&key)
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => {
                        return Err(format!(
                            "the quoted value of `{}` has no closing quote",
                            shorten(&key)
                        ));
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        info.pairs.push((key, value));
    }
}

/// `postgres[ql]://[user[:password]@][host[:port][,host[:port]...]][/db][?k=v&...]`.
fn parse_url(text: &str) -> Result<ConnInfo, String> {
    let rest = text
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = main.split_once('/').unwrap_or((main, ""));
    let mut info = ConnInfo::default();
    let hostspec = match authority.rsplit_once('@') {
        Some((userinfo, hostspec)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                info.pairs.push(("user".into(), decode(user, "the user")?));
            }
            if let Some(password) = password {
                info.pairs
                    .push(("password".into(), decode(password, "the password")?));
            }
            hostspec
        }
        None => authority,
    };
    let (mut hosts, mut ports) = (Vec::new(), Vec::new());
    for spec in hostspec.split(',').filter(|s| !s.is_empty()) {
        let (host, port) = split_host_port(spec)?;
        hosts.push(decode(host, "a host")?);
        ports.push(port.to_string());
    }
    if hosts.iter().any(|h| !h.is_empty()) {
        info.pairs.push(("host".into(), hosts.join(",")));
    }
    if ports.iter().any(|p| !p.is_empty()) {
        info.pairs.push(("port".into(), ports.join(",")));
    }
    if !path.is_empty() {
        info.pairs
            .push(("dbname".into(), decode(path, "the database name")?));
    }
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let Some((key, value)) = param.split_once('=') else {
            return Err(format!(
                "the URL option `{}` has no `=value`",
                shorten(&decode(param, "an option")?)
            ));
        };
        let key = decode(key, "an option's name")?;
        let value = decode(value, &format!("the value of `{}`", shorten(&key)))?;
        info.pairs.push((key, value));
    }
    Ok(info)
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or `:port`.
fn split_host_port(spec: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = spec.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err("a host in the URL opens `[` without a closing `]`".into());
        };
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, port)),
            None if after.is_empty() => Ok((host, "")),
            None => Err("a host in the URL has text after its `]`".into()),
        };
    }
    Ok(spec.split_once(':').unwrap_or((spec, "")))
}

/// `%XX` decoded (a URL's parts); `what` names the part in an error.
fn decode(text: &str, what: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(format!(
                    "{what} in the URL has a `%` that is not followed by two hex digits"
                ));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{what} in the URL is not UTF-8 once %-decoded"))
}

/// A keyword as it may be named in an error: a key is never a secret, but
/// a malformed string can make a whole value look like one; long ones are
/// cut.
fn shorten(key: &str) -> String {
    if key.chars().count() > 32 {
        format!("{}…", key.chars().take(32).collect::<String>())
    } else {
        key.to_string()
    }
}

/// `text` with the password (of either form) hidden, for messages about
/// a string; `None` when `text` cannot be taken apart at all (the caller
/// then shows nothing of it).
pub(super) fn redacted(text: &str) -> Option<String> {
    if has_url_scheme(text) {
        return Some(crate::redact::redact_url_passwords(text).into_owned());
    }
    let info = parse_key_value(text).ok()?;
    Some(
        info.pairs
            .iter()
            .map(|(k, v)| {
                if k == "password" {
                    format!("{k}={}", crate::redact::REDACTED)
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap().pairs
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn both_forms_give_the_same_keywords() {
        assert_eq!(
            pairs(
                "postgresql://comms:p%40ss@db.example:6543/cc?sslmode=verify-full&sslrootcert=%2Fca.pem"
            ),
            vec![
                p("user", "comms"),
                p("password", "p@ss"),
                p("host", "db.example"),
                p("port", "6543"),
                p("dbname", "cc"),
                p("sslmode", "verify-full"),
                p("sslrootcert", "/ca.pem")
            ]
        );
        assert_eq!(
            pairs(
                "host=db.example port = 6543 user=comms password='p@ss \\'q\\'' dbname=cc sslmode=verify-full"
            ),
            vec![
                p("host", "db.example"),
                p("port", "6543"),
                p("user", "comms"),
                p("password", "p@ss 'q'"),
                p("dbname", "cc"),
                p("sslmode", "verify-full")
            ]
        );
        assert_eq!(
            pairs("postgres://[::1]:5433,h2:5434/db"),
            vec![
                p("host", "::1,h2"),
                p("port", "5433,5434"),
                p("dbname", "db")
            ]
        );
    }

    #[test]
    fn recognised_only_with_known_keywords() {
        assert!(is_key_value("host=db dbname=cc"));
        assert!(is_key_value("host = db sslmod=require password='x"));
        assert!(!is_key_value("/tmp/a=b.db"));
        assert!(!is_key_value("store.db"));
        assert!(!is_key_value(""));
    }

    #[test]
    fn errors_never_hold_the_password() {
        for bad in [
            "host=db password='s3cret",
            "host=db password=s3cret bogus",
            "host=db password=s3cret wat=1",
            "postgres://u:s3cret@h/db?opt",
            "postgres://u:s3cret@[::1/db",
            "postgres://u:s3cret%zz@h/db",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.contains("s3cret"), "{bad}: {e}");
        }
        assert_eq!(
            redacted("host=db password='s 3' user=u").as_deref(),
            Some("host=db password=[redacted] user=u")
        );
        assert_eq!(redacted("host=db password='s3cret"), None);
    }
}
