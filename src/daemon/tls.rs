//! HTTPS for the daemon's TCP endpoint: a listener that hands axum only
//! connections whose TLS handshake finished. Handshakes run in their own
//! tasks with a deadline, so a client that connects and sends nothing
//! holds up no one else.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::{Error as PemError, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

/// Handshakes finished but not yet taken by the server.
const READY_QUEUE: usize = 64;

/// Why the certificate and key of `[daemon]` cannot serve HTTPS; each
/// names the setting, and keeps what rustls said as its source.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("daemon.tls_cert: cannot read {}", path.display())]
    ReadCertificate {
        path: PathBuf,
        #[source]
        source: PemError,
    },
    #[error("daemon.tls_cert: {} is not a PEM certificate chain", path.display())]
    NotACertificateChain {
        path: PathBuf,
        #[source]
        source: PemError,
    },
    #[error("daemon.tls_cert: {} holds no certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("daemon.tls_key: {} holds no PEM private key", path.display())]
    NoPrivateKey {
        path: PathBuf,
        #[source]
        source: PemError,
    },
    #[error("TLS: no protocol version available")]
    NoProtocolVersion(#[source] tokio_rustls::rustls::Error),
    #[error("daemon.tls_cert/tls_key: the key does not match the certificate")]
    KeyMismatch(#[source] tokio_rustls::rustls::Error),
}

/// Loads the certificate chain and key (PEM) into a rustls server config.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|source| TlsError::ReadCertificate {
            path: cert.to_path_buf(),
            source,
        })?
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::NotACertificateChain {
            path: cert.to_path_buf(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::NoPrivateKey {
        path: key.to_path_buf(),
        source,
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::NoProtocolVersion)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::KeyMismatch)?;
    Ok(Arc::new(config))
}

/// A TCP listener whose connections arrive already decrypted.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp`; the accept loop ends when the listener
    /// is dropped (its queue closes).
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (send, ready) = mpsc::channel(READY_QUEUE);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    accepted = tcp.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(e) => {
                            // Out of descriptors and the like: wait, retry.
                            tracing::warn!(error = %e, "cannot accept a connection");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                    _ = send.closed() => return,
                };
                let mut stream = stream;
                super::tcp::no_delay(&mut stream);
                let (acceptor, send) = (acceptor.clone(), send.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = send.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(pair) => pair,
            // The accept loop only ends once this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
