//! From a `postgres://` URL to a connection: the password (from the URL,
//! `PGPASSWORD` or the pgpass file, as libpq looks for it), TLS when the
//! URL asks for it, and the words that name the database in every error
//! (host, port, database, user; never the password).

use std::str::FromStr;

use tokio_postgres::config::{Host, SslMode};

/// A parsed store URL: what to connect to, and how to name it.
#[derive(Clone)]
pub struct StoreUrl {
    pub(super) config: tokio_postgres::Config,
    /// `postgres://user@host:port/db`: the URL without its password or
    /// any other option, safe for logs, errors and `store status`.
    shown: String,
    /// `database "db" on host:port`, the subject of error messages.
    subject: String,
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Whether `url` names a PostgreSQL database (rather than a SQLite file).
pub fn is_postgres_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

impl StoreUrl {
    /// Parses `url`; the password comes from the URL, else `PGPASSWORD`,
    /// else the pgpass file (`PGPASSFILE` or `~/.pgpass`).
    pub fn parse(url: &str) -> Result<StoreUrl, String> {
        if !is_postgres_url(url) {
            return Err(format!(
                "`{}` is not a PostgreSQL URL: it must start with postgres:// (for example postgres://user@host:5432/claude_comms)",
                hide_password(url)
            ));
        }
        let mut config = tokio_postgres::Config::from_str(url.trim()).map_err(|e| {
            format!(
                "`{}` is not a valid PostgreSQL URL: {e}",
                hide_password(url)
            )
        })?;
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".into());
            config.user(&user);
        }
        if config.get_dbname().is_none() {
            let user = config.get_user().unwrap_or("postgres").to_string();
            config.dbname(&user);
        }
        if config.get_password().is_none()
            && let Some(password) = password_from_environment(&config)
        {
            config.password(password);
        }
        // A database that stops answering (a cut cable, a dead host) must
        // not hold a request forever: connecting and silent connections
        // have bounds of their own.
        config.connect_timeout(std::time::Duration::from_secs(5));
        config.keepalives(true);
        config.keepalives_idle(std::time::Duration::from_secs(10));
        config.keepalives_interval(std::time::Duration::from_secs(2));
        config.keepalives_retries(3);
        config.application_name("claude-comms");
        let (host, port) = first_host_port(&config);
        let user = config.get_user().unwrap_or_default().to_string();
        let db = config.get_dbname().unwrap_or_default().to_string();
        let shown = format!("postgres://{user}@{host}:{port}/{db}");
        let subject = format!("PostgreSQL database \"{db}\" on {host}:{port} (user {user})");
        Ok(StoreUrl {
            config,
            shown,
            subject,
        })
    }

    /// The URL without its password, for people.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `PostgreSQL database "db" on host:port (user u)`, for errors.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Whether TLS is required (`sslmode=require`); `prefer`, the default,
    /// uses TLS when the server offers it.
    pub fn requires_tls(&self) -> bool {
        self.config.get_ssl_mode() == SslMode::Require
    }
}

fn first_host_port(config: &tokio_postgres::Config) -> (String, u16) {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    (host, port)
}

/// `url` with any password hidden: both the `user:password@` form and a
/// `password=` option. For messages about a URL that could not even be
/// parsed.
pub fn hide_password(url: &str) -> String {
    crate::redact::redact_url_passwords(url).into_owned()
}

/// `PGPASSWORD`, else the first matching line of the pgpass file.
fn password_from_environment(config: &tokio_postgres::Config) -> Option<Vec<u8>> {
    if let Ok(password) = std::env::var("PGPASSWORD")
        && !password.is_empty()
    {
        return Some(password.into_bytes());
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let (host, port) = first_host_port(config);
    let db = config.get_dbname().unwrap_or_default();
    let user = config.get_user().unwrap_or_default();
    pgpass_lookup(&text, &host, port, db, user).map(String::into_bytes)
}

/// The password of the first pgpass line (`host:port:db:user:password`,
/// `*` matches anything, `\:` and `\\` escape) that matches.
pub(super) fn pgpass_lookup(
    text: &str,
    host: &str,
    port: u16,
    db: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    let wanted = [host, port.as_str(), db, user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .map(split_pgpass_line)
        .find(|fields| {
            fields.len() == 5
                && fields[..4].iter().zip(wanted).all(|(field, want)| {
                    field == "*" || field == want || (field == "localhost" && want.starts_with('/'))
                })
        })
        .map(|fields| fields[4].clone())
}

fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next()
                    && let Some(last) = fields.last_mut()
                {
                    last.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

/// The TLS connector: rustls with the system's certificate authorities.
/// Used only when the URL's `sslmode` asks for TLS or the server offers
/// it under `prefer`.
pub(super) fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A system certificate rustls cannot use is skipped, as libpq does.
        let _ = roots.add(cert);
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS for PostgreSQL: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Why connecting failed, in words that name the database and the cause:
/// refused, unreachable, authentication, no such database.
pub(super) fn connect_failure(url: &StoreUrl, error: &tokio_postgres::Error) -> String {
    let subject = url.subject();
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        return match code {
            "3D000" => format!(
                "{subject}: no such database ({}); create it with `createdb {}`",
                db.message(),
                url.config.get_dbname().unwrap_or_default()
            ),
            "28P01" | "28000" => format!(
                "{subject}: authentication failed ({}); put the password in the URL, PGPASSWORD or ~/.pgpass",
                db.message()
            ),
            _ => format!("{subject}: {} ({code})", db.message()),
        };
    }
    let mut cause = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    let hint = if cause.contains("Connection refused") {
        "; is PostgreSQL running there and listening on that port?"
    } else if cause.contains("timed out") || cause.contains("timeout") {
        "; the host did not answer (a firewall, a wrong address, or the server is down)"
    } else {
        ""
    };
    format!("cannot connect to {subject}: {cause}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let url = StoreUrl::parse("postgres://comms:s3cret@db.example:6543/cc").unwrap();
        assert_eq!(url.shown(), "postgres://comms@db.example:6543/cc");
        assert!(!url.subject().contains("s3cret"));
        assert!(!format!("{url:?}").contains("s3cret"));
        let hidden = hide_password("postgres://comms:s3cret@h/cc?password=x2&sslmode=require");
        assert!(
            !hidden.contains("s3cret")
                && !hidden.contains("x2")
                && hidden.contains("sslmode=require"),
            "{hidden}"
        );
        let bad = StoreUrl::parse("postgres://comms:s3cret@h:notaport/cc").unwrap_err();
        assert!(!bad.contains("s3cret"), "{bad}");
    }

    #[test]
    fn pgpass_lines_match_like_libpq() {
        let text = "# comment\nother:5432:*:comms:no\ndb.example:6543:cc:comms:yes\\:colon\n*:*:*:*:fallback\n";
        assert_eq!(
            pgpass_lookup(text, "db.example", 6543, "cc", "comms").as_deref(),
            Some("yes:colon")
        );
        assert_eq!(
            pgpass_lookup(text, "elsewhere", 1, "x", "y").as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup("h:1:d:u:p\n", "h", 2, "d", "u"), None);
    }

    #[test]
    fn only_postgres_urls_are_accepted() {
        let e = StoreUrl::parse("mysql://u:pw@h/db").unwrap_err();
        assert!(
            e.contains("not a PostgreSQL URL") && !e.contains("pw@"),
            "{e}"
        );
    }
}
