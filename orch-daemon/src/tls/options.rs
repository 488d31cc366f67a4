//! TLS options of a caller that is not an agent: the CLI's `-ca-cert`, `-client-cert`,
//! `-client-key`, `-tls-server-name` and `-tls-skip-verify` (and their `NOMAD_*`
//! variables), applied to a reqwest client.

use std::path::PathBuf;
use std::sync::Arc;

use super::{TlsError, read_certs, read_key, read_roots};

/// What a CLI caller asked for. All empty: reqwest's own TLS (the platform's roots).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTlsOptions {
    /// CA to trust instead of the system's roots (`-ca-cert`, `NOMAD_CACERT`).
    pub ca_cert: Option<PathBuf>,
    /// Certificate to present (`-client-cert`, `NOMAD_CLIENT_CERT`).
    pub client_cert: Option<PathBuf>,
    /// Its key (`-client-key`, `NOMAD_CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
    /// Name to check the server's certificate against instead of the address's host
    /// (`-tls-server-name`, `NOMAD_TLS_SERVER_NAME`), e.g. `server.global.nomad`.
    pub server_name: Option<String>,
    /// Accept any server certificate (`-tls-skip-verify`, `NOMAD_SKIP_VERIFY`).
    pub skip_verify: bool,
}

impl ClientTlsOptions {
    /// Whether nothing was asked for.
    pub fn is_empty(&self) -> bool {
        *self == ClientTlsOptions::default()
    }

    /// `builder` with these options; unchanged when they are empty.
    pub fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, TlsError> {
        Ok(match self.rustls_config()? {
            Some(config) => builder.use_preconfigured_tls(config),
            None => builder,
        })
    }

    /// The rustls config these options ask for; `None` when they are empty (then a
    /// caller trusts the platform's roots, e.g. [`platform_config`]).
    pub fn rustls_config(&self) -> Result<Option<rustls::ClientConfig>, TlsError> {
        super::ensure_crypto_provider();
        if self.is_empty() {
            return Ok(None);
        }
        let roots = match &self.ca_cert {
            Some(path) => read_roots("-ca-cert", path)?,
            None => system_roots(),
        };
        let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = if self.skip_verify {
            let provider = rustls::crypto::CryptoProvider::get_default()
                .cloned()
                .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
            Arc::new(super::verify::SkipVerify(provider))
        } else {
            match &self.server_name {
                Some(name) => super::verify::named_verifier(Arc::new(roots), vec![name.clone()])?,
                None => rustls::client::WebPkiServerVerifier::builder(Arc::new(roots))
                    .build()
                    .map_err(|e| TlsError::Rustls(format!("CA verifier: {e}")))?,
            }
        };
        let config = rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => config
                .with_client_auth_cert(
                    read_certs("-client-cert", cert)?,
                    read_key("-client-key", key)?,
                )
                .map_err(|e| TlsError::Rustls(format!("-client-cert/-client-key: {e}")))?,
            (None, None) => config.with_no_client_auth(),
            (Some(_), None) => {
                return Err(TlsError::Config(
                    "-client-cert needs -client-key (or NOMAD_CLIENT_KEY)".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(TlsError::Config(
                    "-client-key needs -client-cert (or NOMAD_CLIENT_CERT)".into(),
                ));
            }
        };
        Ok(Some(config))
    }
}

/// A rustls config trusting the platform's roots (what reqwest does when no TLS
/// option is given), for connections reqwest does not make.
pub fn platform_config() -> rustls::ClientConfig {
    super::ensure_crypto_provider();
    rustls::ClientConfig::builder()
        .with_root_certificates(system_roots())
        .with_no_client_auth()
}

/// The system's CA roots, Mozilla's compiled in when it has none.
fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}
