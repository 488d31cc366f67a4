//! This agent's certificate and key, and the protocol parameters every TLS config of
//! the agent shares (`tls_min_version`, `tls_cipher_suites`,
//! `tls_prefer_server_cipher_suites`).
//!
//! The certificate sits behind a lock so that SIGHUP can swap it while listeners and
//! links keep running, as Nomad reloads its TLS files: every new handshake, served or
//! dialled, presents the certificate read last. Established connections keep theirs.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

use super::{TlsError, read_certs, read_key};

/// The certificate and key files, loaded, and reloadable.
pub struct Identity {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Reads `cert_file` and `key_file` and checks that they belong together.
    pub fn load(
        cert_file: PathBuf,
        key_file: PathBuf,
        provider: Arc<CryptoProvider>,
    ) -> Result<Identity, TlsError> {
        let key = Self::read(&cert_file, &key_file, &provider)?;
        Ok(Identity {
            cert_file,
            key_file,
            provider,
            current: RwLock::new(Arc::new(key)),
        })
    }

    fn read(
        cert_file: &std::path::Path,
        key_file: &std::path::Path,
        provider: &CryptoProvider,
    ) -> Result<CertifiedKey, TlsError> {
        let certs = read_certs("tls.cert_file", cert_file)?;
        let key = read_key("tls.key_file", key_file)?;
        CertifiedKey::from_der(certs, key, provider).map_err(|e| TlsError::Rustls(e.to_string()))
    }

    /// Reads the files again and, when they load, presents them from the next
    /// handshake on; on error the old certificate stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = Self::read(&self.cert_file, &self.key_file, &self.provider)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// The certificate to present now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }
}

impl rustls::server::ResolvesServerCert for Identity {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl rustls::client::ResolvesClientCert for Identity {
    fn resolve(&self, _: &[&[u8]], _: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The protocol settings of the `tls` block, checked.
#[derive(Debug, Clone)]
pub struct Protocol {
    /// ring with the cipher suites allowed.
    pub provider: Arc<CryptoProvider>,
    /// TLS 1.2 and 1.3, or 1.3 only.
    pub versions: &'static [&'static SupportedProtocolVersion],
    /// The server picks the suite in its own order (`tls_prefer_server_cipher_suites`).
    pub prefer_server: bool,
}

static TLS12_AND_13: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
static TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

impl Protocol {
    /// From `tls_min_version` (`tls12` when empty; `tls13`), `tls_cipher_suites` (Go's
    /// names, as Nomad takes them; empty: all of ring's) and the server-order switch.
    /// TLS 1.0 and 1.1, and suites rustls does not implement (CBC, RC4, 3DES), are
    /// refused by name.
    pub fn new(
        min_version: &str,
        suites: &[String],
        prefer_server: bool,
    ) -> Result<Protocol, TlsError> {
        let versions = match min_version {
            "" | "tls12" => TLS12_AND_13,
            "tls13" => TLS13_ONLY,
            "tls10" | "tls11" => {
                return Err(TlsError::Config(format!(
                    "tls_min_version = {min_version:?} is not supported: orch speaks TLS 1.2 and 1.3 only (rustls); use \"tls12\" or \"tls13\""
                )));
            }
            other => {
                return Err(TlsError::Config(format!(
                    "tls_min_version = {other:?}: expected \"tls12\" or \"tls13\""
                )));
            }
        };
        let all = rustls::crypto::ring::ALL_CIPHER_SUITES;
        let mut chosen: Vec<SupportedCipherSuite> = all
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        if suites.is_empty() {
            chosen = all.to_vec();
        }
        for name in suites {
            let wanted = go_suite_name(name.trim());
            let Some(found) = all.iter().find(|s| {
                s.version() == &rustls::version::TLS12
                    && s.suite().as_str() == Some(wanted.as_str())
            }) else {
                let known: Vec<&str> = all
                    .iter()
                    .filter(|s| s.version() == &rustls::version::TLS12)
                    .filter_map(|s| s.suite().as_str())
                    .collect();
                return Err(TlsError::Config(format!(
                    "tls_cipher_suites: {name:?} is not supported; orch (rustls) offers {}",
                    known.join(", ")
                )));
            };
            if !chosen.contains(found) {
                chosen.push(*found);
            }
        }
        let provider = CryptoProvider {
            cipher_suites: chosen,
            ..rustls::crypto::ring::default_provider()
        };
        Ok(Protocol {
            provider: Arc::new(provider),
            versions,
            prefer_server,
        })
    }
}

/// Go's short ChaCha names (`TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305`) as IANA's.
fn go_suite_name(name: &str) -> String {
    if name.ends_with("CHACHA20_POLY1305") {
        format!("{name}_SHA256")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_suites_are_checked_by_name() {
        let p = Protocol::new("", &[], false).unwrap();
        assert_eq!(p.versions.len(), 2);
        assert_eq!(
            p.provider.cipher_suites.len(),
            rustls::crypto::ring::ALL_CIPHER_SUITES.len()
        );
        assert_eq!(Protocol::new("tls13", &[], true).unwrap().versions.len(), 1);
        let e = Protocol::new("tls11", &[], false).unwrap_err().to_string();
        assert!(e.contains("TLS 1.2 and 1.3 only"), "{e}");
        assert!(Protocol::new("ssl3", &[], false).is_err());
        let one = vec!["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".to_string()];
        let p = Protocol::new("tls12", &one, false).unwrap();
        let tls12: Vec<_> = p
            .provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .collect();
        assert_eq!(tls12.len(), 1);
        let bad = vec!["TLS_RSA_WITH_AES_128_CBC_SHA".to_string()];
        let e = Protocol::new("", &bad, false).unwrap_err().to_string();
        assert!(
            e.contains("TLS_RSA_WITH_AES_128_CBC_SHA") && e.contains("offers"),
            "{e}"
        );
    }
}
