//! DynamoDB over HTTPS, as a function on Lambda reaches it: a TLS terminator on 127.0.0.1 in
//! front of DynamoDB Local, with a certificate of a CA made for the run. The function trusts it
//! through `SSL_CERT_FILE` (and `SSL_CERT_DIR`), which the SDK's rustls connector reads with the
//! platform's trust store (`rustls-native-certs`); [`TrustFiles`] are the stores to measure.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The terminator, serving until dropped.
pub struct Terminator {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The run's CA certificate (PEM), alone.
    pub ca_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Terminator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts TLS on a free port of 127.0.0.1 and pipes each connection's plaintext to
/// `upstream` (DynamoDB Local, plain HTTP).
pub async fn start(upstream: SocketAddr) -> std::io::Result<Terminator> {
    let err = |e: rcgen::Error| std::io::Error::other(e.to_string());
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "replaysafe bench CA");
    let ca_key = KeyPair::generate().map_err(err)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().map_err(err)?;
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(err)?
        .signed_by(&leaf_key, &issuer)
        .map_err(err)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(
            vec![
                CertificateDer::from(leaf.der().to_vec()),
                CertificateDer::from(ca_cert.der().to_vec()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .map_err(std::io::Error::other)?;
    // Bytes are piped as they are: HTTP/1.1 on both sides.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("https://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut up) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = up.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    Ok(Terminator {
        url,
        ca_pem: ca_cert.pem(),
        task,
    })
}

/// The trust stores a function is measured with: the files `SSL_CERT_FILE` and `SSL_CERT_DIR`
/// name for it (the SDK's connector then reads these instead of probing the platform's).
#[derive(Debug, Clone)]
pub struct TrustFiles {
    pub label: &'static str,
    pub file: PathBuf,
    pub dir: Option<PathBuf>,
}

/// The platform's CA bundle, as `openssl-probe` finds it on this machine's distribution.
pub const SYSTEM_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Writes the run's CA into `dir`, alone and appended to the platform's bundle, and returns
/// the stores to measure: the platform's bundle and certificate folder (what the connector
/// loads when nothing is set: here, `SSL_CERT_DIR` names the folder and `SSL_CERT_FILE` the
/// bundle plus the run's CA), the bundle alone (one file, as a function given `SSL_CERT_FILE`
/// reads it), and the run's CA alone (no trust store to load at all: the lower bound of any
/// compiled-in store).
pub fn trust_files(ca_pem: &str, dir: &Path) -> std::io::Result<Vec<TrustFiles>> {
    std::fs::create_dir_all(dir)?;
    let alone = dir.join("bench-ca.pem");
    std::fs::write(&alone, ca_pem)?;
    let mut out = Vec::new();
    if let Some(system) = SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
        let bundle = dir.join("system-bundle-and-bench-ca.pem");
        let mut pem = std::fs::read_to_string(system)?;
        pem.push('\n');
        pem.push_str(ca_pem);
        std::fs::write(&bundle, pem)?;
        let folder = ["/etc/ssl/certs", "/etc/pki/tls/certs"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_dir());
        if folder.is_some() {
            out.push(TrustFiles {
                label: "platform bundle + folder",
                file: bundle.clone(),
                dir: folder,
            });
        }
        out.push(TrustFiles {
            label: "platform bundle",
            file: bundle,
            dir: None,
        });
    }
    out.push(TrustFiles {
        label: "run's CA only",
        file: alone,
        dir: None,
    });
    Ok(out)
}

impl TrustFiles {
    /// The environment that makes a function use this store.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("SSL_CERT_FILE".into(), self.file.display().to_string())];
        if let Some(dir) = &self.dir {
            env.push(("SSL_CERT_DIR".into(), dir.display().to_string()));
        }
        env
    }
}
