//! The proxy's TLS identity: a certificate made at start (or read from files) and its
//! fingerprint, which the agent announces with the endpoint so that customers pin it.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, pem::PemObject},
};
use snm_sdk::proxy_client::CertFingerprint;

/// Where the proxy's certificate comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlsSource {
    /// A self-signed certificate made at start, with a fresh key: one per deal, since each deal
    /// runs its own proxy.
    #[default]
    SelfSigned,
    /// A PEM certificate chain and its PEM private key (PKCS#8, PKCS#1 or SEC1).
    Files {
        /// The certificate chain, leaf first.
        cert: PathBuf,
        /// The leaf's private key.
        key: PathBuf,
    },
}

/// A server configuration and the fingerprint of the certificate it shows.
#[derive(Clone, Debug)]
pub struct TlsIdentity {
    config: Arc<ServerConfig>,
    fingerprint: CertFingerprint,
}

impl TlsIdentity {
    /// Makes or reads the certificate `source` names.
    pub fn load(source: &TlsSource) -> Result<Self, TlsError> {
        let (chain, key) = match source {
            TlsSource::SelfSigned => {
                let made = rcgen::generate_simple_self_signed(vec!["snm-proxy".to_owned()])
                    .map_err(TlsError::Generate)?;
                let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
                (vec![made.cert.der().clone()], PrivateKeyDer::Pkcs8(key))
            }
            TlsSource::Files { cert, key } => (read_chain(cert)?, read_key(key)?),
        };
        let leaf = chain.first().ok_or_else(|| TlsError::NoCertificate(path_of(source)))?;
        let fingerprint = CertFingerprint::of(leaf);
        let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(TlsError::Config)?;
        Ok(Self { config: Arc::new(config), fingerprint })
    }

    /// The server configuration.
    pub fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }

    /// The SHA-256 of the certificate the proxy shows.
    pub fn fingerprint(&self) -> CertFingerprint {
        self.fingerprint
    }
}

fn path_of(source: &TlsSource) -> PathBuf {
    match source {
        TlsSource::Files { cert, .. } => cert.clone(),
        TlsSource::SelfSigned => PathBuf::new(),
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect)
        .map_err(|source| TlsError::Pem { path: path.to_owned(), source })
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| TlsError::Pem { path: path.to_owned(), source })
}

/// Why the proxy has no TLS identity.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The self-signed certificate could not be made.
    #[error("making the self-signed certificate: {0}")]
    Generate(#[source] rcgen::Error),
    /// A PEM file could not be read.
    #[error("reading {}: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{} holds no certificate", .0.display())]
    NoCertificate(PathBuf),
    /// The certificate and key do not make a server configuration (a key that does not match,
    /// an unsupported algorithm).
    #[error("the certificate and key cannot serve TLS: {0}")]
    Config(#[source] rustls::Error),
}
