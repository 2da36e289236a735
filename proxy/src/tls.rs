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
    /// A self-signed certificate kept in a directory (`cert.pem`, `key.pem` with mode 0600):
    /// made and written there at the first start, read at the next, so that a proxy started
    /// again for the same deal shows the same certificate and the announced fingerprint holds.
    Kept {
        /// The directory (the deal's state directory).
        dir: PathBuf,
    },
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
            TlsSource::Kept { dir } => {
                let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
                if !cert.exists() || !key.exists() {
                    keep_new(dir, &cert, &key)?;
                }
                (read_chain(&cert)?, read_key(&key)?)
            }
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

/// Makes a self-signed certificate and writes it and its key (readable by the proxy's user only)
/// into `dir`; the key is written last, so a start interrupted half way makes a new pair.
fn keep_new(dir: &Path, cert: &Path, key: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let made =
        rcgen::generate_simple_self_signed(vec!["snm-proxy".to_owned()]).map_err(TlsError::Generate)?;
    let write = |path: &Path, text: &str, mode: u32| {
        std::fs::create_dir_all(dir)
            .and_then(|()| {
                let partial = path.with_extension("partial");
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(mode)
                    .open(&partial)?;
                std::io::Write::write_all(&mut file, text.as_bytes())?;
                file.sync_all()?;
                std::fs::rename(&partial, path)
            })
            .map_err(|source| TlsError::Keep { path: path.to_owned(), source })
    };
    write(cert, &made.cert.pem(), 0o644)?;
    write(key, &made.signing_key.serialize_pem(), 0o600)
}

fn path_of(source: &TlsSource) -> PathBuf {
    match source {
        TlsSource::Files { cert, .. } => cert.clone(),
        TlsSource::Kept { dir } => dir.join("cert.pem"),
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
    /// A kept certificate or key could not be written.
    #[error("keeping the certificate in {}: {source}", path.display())]
    Keep {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{} holds no certificate", .0.display())]
    NoCertificate(PathBuf),
    /// The certificate and key do not make a server configuration (a key that does not match,
    /// an unsupported algorithm).
    #[error("the certificate and key cannot serve TLS: {0}")]
    Config(#[source] rustls::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_certificate_is_made_once_and_shown_again_after_a_restart() {
        let dir = std::env::temp_dir().join(format!("snm-proxy-kept-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let source = TlsSource::Kept { dir: dir.join("tls") };
        let first = TlsIdentity::load(&source).unwrap().fingerprint();
        let again = TlsIdentity::load(&source).unwrap().fingerprint();
        assert_eq!(first, again, "a restarted proxy shows the certificate it made");
        assert_ne!(first, TlsIdentity::load(&TlsSource::SelfSigned).unwrap().fingerprint());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("tls/key.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_file(dir.join("tls/key.pem")).unwrap();
        let remade = TlsIdentity::load(&source).unwrap().fingerprint();
        assert_ne!(first, remade, "a lost key makes a new pair");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
