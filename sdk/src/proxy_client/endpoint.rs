//! Where a proxy serves and which certificate it shows: the endpoint a supplier's agent announces.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The SHA-256 of a certificate's DER encoding: what a client pins instead of trusting a
/// certificate authority (each proxy makes its own self-signed certificate).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    /// The fingerprint of the certificate `der` (its DER encoding).
    pub fn of(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for CertFingerprint {
    /// 64 lowercase hexadecimal digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}

impl FromStr for CertFingerprint {
    type Err = EndpointError;

    /// 64 hexadecimal digits, either case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || EndpointError::BadFingerprint(text.to_owned());
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Self(bytes))
    }
}

impl From<CertFingerprint> for String {
    fn from(fingerprint: CertFingerprint) -> Self {
        fingerprint.to_string()
    }
}

impl TryFrom<String> for CertFingerprint {
    type Error = EndpointError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// A proxy's endpoint as announced on chain: `host:port#sha256=<fingerprint>`, for example
/// `203.0.113.7:40123#sha256=9f86d0…` (64 hexadecimal digits). The host is an IPv4 address, an
/// IPv6 address in brackets or a name; the fragment is the SHA-256 of the DER certificate the proxy
/// serves TLS with, which [`connect`](super::connect) pins.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ProxyEndpoint {
    address: String,
    fingerprint: CertFingerprint,
}

/// The fragment that introduces the fingerprint in an endpoint.
const FRAGMENT: &str = "#sha256=";

impl ProxyEndpoint {
    /// An endpoint from its `host:port` and its certificate's fingerprint.
    pub fn new(address: impl Into<String>, fingerprint: CertFingerprint) -> Result<Self, EndpointError> {
        let address = address.into();
        check_address(&address)?;
        Ok(Self { address, fingerprint })
    }

    /// `host:port`, what a TCP connection goes to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The host part, without brackets around an IPv6 address.
    pub fn host(&self) -> &str {
        let host = self.address.rsplit_once(':').map_or("", |(host, _)| host);
        host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
    }

    /// The certificate the proxy must show.
    pub const fn fingerprint(&self) -> &CertFingerprint {
        &self.fingerprint
    }
}

fn check_address(address: &str) -> Result<(), EndpointError> {
    let bad = || EndpointError::BadAddress(address.to_owned());
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if host.is_empty() || port.parse::<u16>().is_err() || (host.contains(':') && !bracketed) {
        return Err(bad());
    }
    Ok(())
}

impl fmt::Display for ProxyEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{FRAGMENT}{}", self.address, self.fingerprint)
    }
}

impl FromStr for ProxyEndpoint {
    type Err = EndpointError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, fingerprint) =
            text.split_once(FRAGMENT).ok_or_else(|| EndpointError::NoFingerprint(text.to_owned()))?;
        Self::new(address, fingerprint.parse()?)
    }
}

impl From<ProxyEndpoint> for String {
    fn from(endpoint: ProxyEndpoint) -> Self {
        endpoint.to_string()
    }
}

impl TryFrom<String> for ProxyEndpoint {
    type Error = EndpointError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// An endpoint that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    /// No `#sha256=` fragment: the proxy does not name its certificate, so a client cannot tell
    /// it from an impostor (a proxy from before TLS, or not a proxy at all).
    #[error("endpoint `{0}` names no certificate (expected `host:port#sha256=<64 hex digits>`)")]
    NoFingerprint(String),
    /// The fingerprint is not 64 hexadecimal digits.
    #[error("certificate fingerprint `{0}` is not 64 hexadecimal digits")]
    BadFingerprint(String),
    /// The address is not `host:port` (an IPv6 host in brackets).
    #[error("endpoint address `{0}` is not `host:port` (an IPv6 host in brackets)")]
    BadAddress(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn an_endpoint_reads_and_prints_back_the_same() {
        for text in [format!("127.0.0.9:3128#sha256={HEX}"), format!("[::1]:443#sha256={HEX}")] {
            let endpoint: ProxyEndpoint = text.parse().unwrap();
            assert_eq!(endpoint.to_string(), text);
            assert_eq!(endpoint.fingerprint().to_string(), HEX);
        }
        let v6: ProxyEndpoint = format!("[::1]:443#sha256={HEX}").parse().unwrap();
        assert_eq!((v6.address(), v6.host()), ("[::1]:443", "::1"));
        let upper: ProxyEndpoint = format!("10.0.0.1:1#sha256={}", HEX.to_uppercase()).parse().unwrap();
        assert_eq!(upper.fingerprint().to_string(), HEX);
        let json = serde_json::to_string(&v6).unwrap();
        assert_eq!(serde_json::from_str::<ProxyEndpoint>(&json).unwrap(), v6);
    }

    #[test]
    fn an_endpoint_without_a_valid_fingerprint_or_address_is_refused() {
        assert!(matches!("127.0.0.1:3128".parse::<ProxyEndpoint>(), Err(EndpointError::NoFingerprint(_))));
        let short = format!("127.0.0.1:3128#sha256={}", &HEX[..63]);
        assert!(matches!(short.parse::<ProxyEndpoint>(), Err(EndpointError::BadFingerprint(_))));
        let not_hex = format!("127.0.0.1:3128#sha256={}zz", &HEX[..62]);
        assert!(matches!(not_hex.parse::<ProxyEndpoint>(), Err(EndpointError::BadFingerprint(_))));
        for address in ["127.0.0.1", "127.0.0.1:70000", ":80", "::1:80"] {
            let text = format!("{address}#sha256={HEX}");
            assert!(matches!(text.parse::<ProxyEndpoint>(), Err(EndpointError::BadAddress(_))), "{address}");
        }
    }

    #[test]
    fn a_fingerprint_is_the_sha256_of_the_certificate() {
        // SHA-256("test"), a published test vector.
        assert_eq!(CertFingerprint::of(b"test").to_string(), HEX);
    }
}
