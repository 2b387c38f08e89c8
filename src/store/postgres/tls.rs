//! TLS to PostgreSQL with libpq's meanings (rustls, ring provider):
//!
//! | `sslmode`      | TLS                         | the server's certificate            |
//! |----------------|-----------------------------|-------------------------------------|
//! | `disable`      | never                       | -                                   |
//! | `allow`, `prefer` (default) | when offered   | chain checked only with a root cert |
//! | `require`      | always                      | chain checked only with a root cert |
//! | `verify-ca`    | always                      | chain against the root cert         |
//! | `verify-full`  | always                      | chain, and the host name            |
//!
//! `sslrootcert` is a PEM file of CA certificates, or `system` (the
//! system's CAs, which libpq allows only with `verify-full`); without it
//! `~/.postgresql/root.crt` is used when it exists, as libpq does.
//! `sslcert`/`sslkey` (or `~/.postgresql/postgresql.crt`/`.key`) are the
//! client certificate. Each also comes from libpq's environment variable
//! (`PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`) when the
//! connection string does not set it. (`allow` tries TLS first, like
//! `prefer`: both connect to the same servers.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_postgres::config::SslMode;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

use super::conninfo::ConnInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Mode, String> {
        Ok(match value {
            "disable" => Mode::Disable,
            "allow" => Mode::Allow,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Allow => "allow",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// Where trusted CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Roots {
    /// None: the certificate is not checked (TLS only encrypts).
    None,
    File(PathBuf),
    System,
}

/// The TLS settings of one connection string.
#[derive(Debug, Clone)]
pub(super) struct TlsSettings {
    pub(super) mode: Mode,
    pub(super) roots: Roots,
    /// The client certificate chain and its key (PEM files).
    pub(super) client: Option<(PathBuf, PathBuf)>,
}

impl TlsSettings {
    /// Takes the `ssl*` keywords out of `info` (tokio-postgres knows only
    /// three `sslmode`s and none of the files), with libpq's environment
    /// variables and default files where the string sets nothing.
    pub(super) fn take_from(info: &mut ConnInfo) -> Result<TlsSettings, String> {
        let setting = |value: Option<String>, env: &str| {
            value.or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
        };
        let mode = setting(info.take("sslmode"), "PGSSLMODE");
        let root = setting(info.take("sslrootcert"), "PGSSLROOTCERT");
        let cert = setting(info.take("sslcert"), "PGSSLCERT");
        let key = setting(info.take("sslkey"), "PGSSLKEY");
        let home_file = |name: &str| {
            std::env::var_os("HOME")
                .map(|h| Path::new(&h).join(".postgresql").join(name))
                .filter(|p| p.is_file())
        };
        let roots = match root.as_deref() {
            Some("system") => Roots::System,
            Some(file) => Roots::File(PathBuf::from(file)),
            None => home_file("root.crt").map_or(Roots::None, Roots::File),
        };
        let mode = match mode {
            Some(mode) => Mode::parse(&mode)?,
            // libpq: `sslrootcert=system` makes verify-full the default.
            None if roots == Roots::System => Mode::VerifyFull,
            None => Mode::Prefer,
        };
        if roots == Roots::System && mode != Mode::VerifyFull {
            return Err(format!(
                "sslrootcert=system needs sslmode=verify-full (sslmode is {}): the system's CAs sign certificates for any host",
                mode.as_str()
            ));
        }
        if matches!(mode, Mode::VerifyCa | Mode::VerifyFull) && roots == Roots::None {
            return Err(format!(
                "sslmode={} needs a root certificate to check the server against: set sslrootcert=FILE (the CA's PEM file), or sslrootcert=system for the system's CAs",
                mode.as_str()
            ));
        }
        let client = match (cert, key) {
            (Some(cert), Some(key)) => Some((PathBuf::from(cert), PathBuf::from(key))),
            (Some(_), None) => return Err("sslcert is set but sslkey is not: give both".into()),
            (None, Some(_)) => return Err("sslkey is set but sslcert is not: give both".into()),
            (None, None) => home_file("postgresql.crt").zip(home_file("postgresql.key")),
        };
        Ok(TlsSettings {
            mode,
            roots,
            client,
        })
    }

    /// The mode tokio-postgres negotiates with (whether to ask for TLS);
    /// what is checked is the connector's business.
    pub(super) fn postgres_mode(&self) -> SslMode {
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Allow | Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    /// How the connection is secured, in words (for `store status`).
    pub(super) fn describe(&self) -> String {
        let checked = match (&self.roots, self.mode) {
            (_, Mode::Disable) => return "no TLS (sslmode=disable)".into(),
            (Roots::None, _) => "the certificate is not checked".to_string(),
            (Roots::System, _) => "checked against the system's CAs and the host name".into(),
            (Roots::File(f), Mode::VerifyFull) => {
                format!("checked against {} and the host name", f.display())
            }
            (Roots::File(f), _) => format!("checked against {}", f.display()),
        };
        let client = if self.client.is_some() {
            ", with a client certificate"
        } else {
            ""
        };
        format!("sslmode={}: {checked}{client}", self.mode.as_str())
    }

    /// The connector: rustls with the verifier the mode asks for.
    pub(super) fn connector(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS for PostgreSQL: {e}"))?;
        let verifier: Arc<dyn ServerCertVerifier> = match &self.roots {
            Roots::None => Arc::new(EncryptOnly(provider)),
            roots => {
                let store = Arc::new(root_store(roots)?);
                let webpki =
                    rustls::client::WebPkiServerVerifier::builder_with_provider(store, provider)
                        .build()
                        .map_err(|e| format!("cannot use the root certificates: {e}"))?;
                if self.mode == Mode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &self.client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = read_certs(cert, "sslcert")?;
                let key_pem = read_file(key, "sslkey")?;
                let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                    format!(
                        "sslkey {}: no private key in it ({e}); an encrypted key is not supported",
                        key.display()
                    )
                })?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| format!("sslcert/sslkey {}: {e}", cert.display()))?
            }
        };
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: cannot read it ({e})", path.display()))
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_file(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what} {}: not PEM certificates ({e})", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{what} {}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

fn root_store(roots: &Roots) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        Roots::None => {}
        Roots::System => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is skipped, as libpq does.
                let _ = store.add(cert);
            }
        }
        Roots::File(path) => {
            for cert in read_certs(path, "sslrootcert")? {
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
        }
    }
    Ok(store)
}

/// `require` (and `prefer`) without a root certificate: the connection is
/// encrypted, the certificate taken as it is (libpq's meaning). Handshake
/// signatures are still checked, so the server holds the certificate's key.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the host name is
/// not checked. webpki checks the chain before the name, so a name
/// mismatch is the only error this lets through.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
