//! Mutual TLS on the listener. Given the service's certificate and key and
//! the CA that issues the platform's client certificates, only a client
//! presenting a certificate from that CA completes the handshake; everyone
//! else is refused before a byte of HTTP is read.
//!
//! The handshake itself runs in [`super::server`], under the cap on
//! concurrent handshakes and its timeout.

use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The three PEM files mutual TLS needs.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The service's certificate chain, leaf first.
    pub cert: PathBuf,
    /// The service certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// The CA certificate(s) client certificates must chain to.
    pub client_ca: PathBuf,
}

impl TlsFiles {
    /// All three set: mutual TLS. None: plain HTTP. Only some: an error, as a
    /// half-configured listener is never what the operator meant.
    pub fn from_parts(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        client_ca: Option<PathBuf>,
    ) -> Result<Option<Self>> {
        match (cert, key, client_ca) {
            (Some(cert), Some(key), Some(client_ca)) => Ok(Some(Self {
                cert,
                key,
                client_ca,
            })),
            (None, None, None) => Ok(None),
            (cert, key, client_ca) => {
                let missing: Vec<&str> = [
                    (cert.is_none(), "CONTAS_TLS_CERT"),
                    (key.is_none(), "CONTAS_TLS_KEY"),
                    (client_ca.is_none(), "CONTAS_TLS_CLIENT_CA"),
                ]
                .into_iter()
                .filter_map(|(missing, name)| missing.then_some(name))
                .collect();
                bail!(
                    "mutual TLS needs CONTAS_TLS_CERT, CONTAS_TLS_KEY and CONTAS_TLS_CLIENT_CA \
                     together; missing: {}",
                    missing.join(", ")
                )
            }
        }
    }

    /// A server configuration that demands a client certificate issued by
    /// the client CA, and speaks HTTP/1.1.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = read_certificates(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .with_context(|| format!("reading a private key from {}", self.key.display()))?;
        let mut roots = RootCertStore::empty();
        for ca in read_certificates(&self.client_ca)? {
            roots
                .add(ca)
                .with_context(|| format!("{} is not a usable CA", self.client_ca.display()))?;
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .context("building the client certificate verifier")?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("choosing TLS versions")?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .with_context(|| {
                format!(
                    "{} and {} are not a certificate and its key",
                    self.cert.display(),
                    self.key.display()
                )
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading certificates from {}", path.display()))?;
    if certificates.is_empty() {
        bail!("{} holds no PEM certificate", path.display());
    }
    Ok(certificates)
}
