//! From a connection string (a `postgres://` URL or libpq's key=value
//! form, see `conninfo.rs`) to a connection: the password (from the
//! string, `PGPASSWORD` or the pgpass file, as libpq looks for it), TLS as
//! `sslmode` and its files say (`tls.rs`), and the words that name the
//! database in every error (host, port, database, user; never the
//! password).

use std::str::FromStr;

use tokio_postgres::config::Host;

use super::conninfo;
use super::tls::TlsSettings;

/// A parsed store URL: what to connect to, and how to name it.
#[derive(Clone)]
pub struct StoreUrl {
    pub(super) config: tokio_postgres::Config,
    pub(super) tls: TlsSettings,
    /// Whether the string set `application_name`.
    named: bool,
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

/// Whether `url` names a PostgreSQL database (rather than a SQLite file):
/// a `postgres://` or `postgresql://` URL, or a key=value connection
/// string whose keys are all libpq's (`host=db dbname=cc`).
pub fn is_postgres_url(url: &str) -> bool {
    conninfo::has_url_scheme(url) || conninfo::is_key_value(url)
}

impl StoreUrl {
    /// Parses `url` (either form); the password comes from the string,
    /// else `PGPASSWORD`, else the pgpass file (`passfile`, `PGPASSFILE`
    /// or `~/.pgpass`). Host, port, database and user not in the string
    /// come from `PGHOST`, `PGPORT`, `PGDATABASE` and `PGUSER`, as in
    /// libpq. No error holds the password.
    pub fn parse(url: &str) -> Result<StoreUrl, String> {
        if !is_postgres_url(url) {
            return Err(format!(
                "{} is not a PostgreSQL connection string: write a URL (postgres://user@host:5432/claude_comms) or key=value pairs (host=db port=5432 user=comms dbname=claude_comms)",
                described(url)
            ));
        }
        let mut info = conninfo::parse(url)
            .map_err(|e| format!("the PostgreSQL connection string is not valid: {e}"))?;
        let tls = TlsSettings::take_from(&mut info)?;
        let passfile = info.take("passfile");
        for (key, env) in [
            ("host", "PGHOST"),
            ("port", "PGPORT"),
            ("dbname", "PGDATABASE"),
        ] {
            if info.get(key).is_none()
                && let Ok(value) = std::env::var(env)
                && !value.is_empty()
            {
                info.set(key, &value);
            }
        }
        let mut config = tokio_postgres::Config::from_str(&info.to_key_value())
            .map_err(|e| format!("the PostgreSQL connection string is not valid: {e}"))?;
        config.ssl_mode(tls.postgres_mode());
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
            && let Some(password) = password_from_environment(&config, passfile.as_deref())
        {
            config.password(password);
        }
        // A database that stops answering (a cut cable, a dead host) must
        // not hold a request forever: connecting and silent connections
        // have bounds of their own.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        config.keepalives(true);
        config.keepalives_idle(std::time::Duration::from_secs(10));
        config.keepalives_interval(std::time::Duration::from_secs(2));
        config.keepalives_retries(3);
        let named = config.get_application_name().is_some();
        if !named {
            config.application_name("claude-comms");
        }
        let (host, port) = first_host_port(&config);
        let user = config.get_user().unwrap_or_default().to_string();
        let db = config.get_dbname().unwrap_or_default().to_string();
        let shown = format!("postgres://{user}@{host}:{port}/{db}");
        let subject = format!("PostgreSQL database \"{db}\" on {host}:{port} (user {user})");
        Ok(StoreUrl {
            config,
            tls,
            named,
            shown,
            subject,
        })
    }

    /// Names the connections `name` unless the string named them.
    pub(super) fn default_application_name(&mut self, name: &str) {
        if !self.named {
            self.config.application_name(name);
        }
    }

    /// The URL without its password, for people.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `PostgreSQL database "db" on host:port (user u)`, for errors.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// How the connection is secured, in words (`store status`).
    pub fn tls_shown(&self) -> String {
        self.tls.describe()
    }

    /// The user claude-comms connects as.
    pub(super) fn user(&self) -> &str {
        self.config.get_user().unwrap_or_default()
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

/// `url` with any password hidden: the `user:password@` form, a
/// `password=` option of a URL, and the `password=` pair of a key=value
/// string. For messages about a string that could not even be parsed: a
/// key=value string that cannot be taken apart is not shown at all.
pub fn hide_password(url: &str) -> String {
    if url.contains("://") || !url.contains('=') {
        return crate::redact::redact_url_passwords(url).into_owned();
    }
    conninfo::redacted(url)
        .unwrap_or_else(|| "(a connection string that cannot be read; not shown)".into())
}

/// A string that is not PostgreSQL's, for the error that says so: a path
/// or another URL is shown (without a password), anything else is not.
fn described(url: &str) -> String {
    if url.contains("://") || !url.contains('=') {
        format!("`{}`", crate::redact::redact_url_passwords(url))
    } else {
        "the value (not shown: it may hold a password)".into()
    }
}

/// `PGPASSWORD`, else the first matching line of the pgpass file.
fn password_from_environment(
    config: &tokio_postgres::Config,
    passfile: Option<&str>,
) -> Option<Vec<u8>> {
    if let Ok(password) = std::env::var("PGPASSWORD")
        && !password.is_empty()
    {
        return Some(password.into_bytes());
    }
    let file = passfile
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("PGPASSFILE").map(std::path::PathBuf::from))
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
            "28000" if db.message().contains("certificate") => format!(
                "{subject}: the server wants a client certificate ({}); give sslcert and sslkey (PEM files of a certificate its ssl_ca_file trusts, for this user)",
                db.message()
            ),
            "28000" if db.message().contains("no encryption") => format!(
                "{subject}: the server accepts only TLS connections ({}); use sslmode=require or stronger",
                db.message()
            ),
            "28P01" | "28000" => format!(
                "{subject}: authentication failed ({}); put the password in the URL, PGPASSWORD or ~/.pgpass",
                db.message()
            ),
            super::pool::TOO_MANY_CONNECTIONS => format!(
                "{subject}: the server refused another connection: {} ({code})",
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
    } else if cause.contains("UnknownIssuer") || cause.contains("BadSignature") {
        "; the server's certificate is not signed by a CA of sslrootcert (give its CA's PEM file as sslrootcert, or sslmode=require to encrypt without checking)"
    } else if cause.contains("NotValidForName") || cause.contains("not valid for name") {
        "; the server's certificate does not name this host (connect by a name it holds, or use sslmode=verify-ca)"
    } else if cause.contains("server does not support TLS") {
        "; the server does not offer TLS (turn on ssl there, or use sslmode=prefer or disable)"
    } else if cause.contains("CertificateRequired") || cause.contains("certificate required") {
        "; the server wants a client certificate (sslcert and sslkey)"
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
            e.contains("not a PostgreSQL connection string") && !e.contains("pw@"),
            "{e}"
        );
    }
}
