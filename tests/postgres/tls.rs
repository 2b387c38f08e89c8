//! TLS to PostgreSQL with libpq's `sslmode` meanings (issue 28): a
//! throw-away cluster with `ssl = on` and a certificate from a CA made
//! here (rcgen), which takes no connection without TLS and one role only
//! with a client certificate (`clientcert=verify-full`).

use std::path::{Path, PathBuf};

use claude_comms::store::Store;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;

use crate::pg_cluster::{PgCluster, USER};

/// A CA: its certificate (PEM) and what signs with it.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let pem = params.self_signed(&key).unwrap().pem();
    Ca {
        pem,
        issuer: Issuer::new(params, key),
    }
}

/// A certificate for `names` with common name `cn`, signed by `ca`: the
/// certificate's and the key's PEM.
fn signed(ca: &Ca, cn: &str, names: &[&str]) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Opens the store at `url` and stores and reads back a conversation;
/// the error as text when it cannot.
fn works(url: &str) -> Result<(), String> {
    let store = Store::open_postgres(url).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let c = store
            .create_conversation("marker", "arangodb", Some("over TLS"), json!({}))
            .await
            .map_err(|e| e.to_string())?;
        let back = store.conversation(&c.id).await.map_err(|e| e.to_string())?;
        assert_eq!(back.title.as_deref(), Some("over TLS"));
        Ok(())
    })
}

fn refused(url: &str) -> String {
    match works(url) {
        Ok(()) => panic!("{url} connected"),
        Err(e) => e,
    }
}

#[test]
fn tls_is_verified_as_sslmode_says_with_the_databases_own_ca() {
    let Some(mut cluster) = PgCluster::start() else {
        return;
    };
    cluster.create_database("tlsdb");
    cluster
        .sql("postgres", "CREATE ROLE certuser LOGIN")
        .unwrap();
    cluster
        .sql("postgres", "CREATE DATABASE certdb OWNER certuser")
        .unwrap();
    let ours = ca("claude-comms test CA");
    let theirs = ca("another CA");
    let (server_cert, server_key) = signed(&ours, "localhost", &["localhost", "127.0.0.1"]);
    let cert = cluster.server_file("server.crt", server_cert.as_bytes(), 0o644);
    let key = cluster.server_file("server.key", server_key.as_bytes(), 0o600);
    let ca_file = cluster.server_file("ca.crt", ours.pem.as_bytes(), 0o644);
    cluster.reconfigure(
        &format!(
            "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nssl_ca_file = '{}'",
            cert.display(),
            key.display(),
            ca_file.display()
        ),
        "hostnossl all all 127.0.0.1/32 reject\n\
         hostssl all certuser 127.0.0.1/32 trust clientcert=verify-full",
    );

    let client = tempfile::tempdir().unwrap();
    let root = write(client.path(), "root.pem", &ours.pem);
    let wrong_root = write(client.path(), "wrong.pem", &theirs.pem);
    let port = cluster.port();
    let url =
        |host: &str, options: &str| format!("postgres://{USER}@{host}:{port}/tlsdb?{options}");

    // verify-full: the chain and the name, in both forms of the string.
    works(&url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", root.display()),
    ))
    .unwrap();
    works(&format!(
        "host=127.0.0.1 port={port} user={USER} dbname=tlsdb sslmode=verify-full sslrootcert='{}'",
        root.display()
    ))
    .unwrap();
    // require without a root certificate: encrypted, not checked (libpq's
    // meaning); the server takes no connection without TLS.
    works(&url("127.0.0.1", "sslmode=require")).unwrap();
    let plain = refused(&url("127.0.0.1", "sslmode=disable"));
    assert!(plain.contains("only TLS"), "{plain}");

    // The wrong CA is refused in words, whether verify-full or require
    // with that root certificate.
    for mode in ["verify-full", "verify-ca", "require"] {
        let e = refused(&url(
            "localhost",
            &format!("sslmode={mode}&sslrootcert={}", wrong_root.display()),
        ));
        assert!(
            e.contains("not signed by a CA of sslrootcert"),
            "{mode}: {e}"
        );
    }
    // A name the certificate does not hold: verify-ca takes it,
    // verify-full does not.
    let misnamed = |mode: &str| {
        format!(
            "host=db.example hostaddr=127.0.0.1 port={port} user={USER} dbname=tlsdb sslmode={mode} sslrootcert={}",
            root.display()
        )
    };
    works(&misnamed("verify-ca")).unwrap();
    let e = refused(&misnamed("verify-full"));
    assert!(e.contains("does not name this host"), "{e}");
    // verify-full needs something to verify against.
    let e = refused(&url("localhost", "sslmode=verify-full"));
    assert!(e.contains("sslrootcert"), "{e}");

    // The role that needs a client certificate.
    let (client_cert, client_key) = signed(&ours, "certuser", &[]);
    let client_cert = write(client.path(), "client.crt", &client_cert);
    let client_key = write(client.path(), "client.key", &client_key);
    let cert_url = |extra: &str| {
        format!(
            "postgres://certuser@localhost:{port}/certdb?sslmode=verify-full&sslrootcert={}{extra}",
            root.display()
        )
    };
    let e = refused(&cert_url(""));
    assert!(e.contains("client certificate"), "{e}");
    works(&cert_url(&format!(
        "&sslcert={}&sslkey={}",
        client_cert.display(),
        client_key.display()
    )))
    .unwrap();
    let e = refused(&cert_url(&format!("&sslcert={}", client_cert.display())));
    assert!(e.contains("sslkey"), "{e}");
}
