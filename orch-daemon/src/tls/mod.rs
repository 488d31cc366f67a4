//! Transport security for every layer: mutual TLS (Nomad's agent `tls` block) and the
//! cluster secret (`server.encrypt`), in one module the CLI, HTTP layer, servers and
//! clients may all use (invariant 14: nobody borrows this from another layer).
//!
//! - [`ensure_crypto_provider`] / [`http_client_builder`]: reqwest is built with
//!   `rustls-no-provider` (the `rustls` feature needs aws-lc-rs and cmake), which makes
//!   building a `reqwest::Client` panic unless a process-wide rustls provider exists.
//!   Every client in the crate is built through [`http_client_builder`], which installs
//!   ring once first.
//! - [`TlsSetup`]: the loaded CA, certificate and key, and what they are used for; builds
//!   the listeners' rustls server configs ([`listen`]) and the clients' configs.
//! - [`AgentSecurity`]: what an agent applies to its peer traffic: TLS for RPC and HTTP,
//!   and the cluster secret; hands out [`Link`]s (a reqwest client plus its scheme) and
//!   guards the peer routes ([`guard`]).
//!
//! Roles, as in Nomad: a certificate valid for `server.<region>.<domain>` is a server,
//! `client.<region>.<domain>` a client. With `verify_server_hostname`, servers must
//! present the server name on every RPC connection (checked by [`verify`] on the calling
//! side, and by [`guard`] on the answering side for the Raft and join routes).

pub mod guard;
pub mod identity;
pub mod listen;
pub mod options;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use guard::{CLUSTER_SECRET_HEADER, PeerGuard};
pub use listen::{ListenTls, PeerInfo, serve};
pub use options::{ClientTlsOptions, platform_config};

/// Why TLS could not be set up. Each message names the agent setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file named by a setting could not be read.
    #[error("{field}: cannot read {path}: {source}; check the path and its permissions")]
    Read {
        /// The setting or flag (`tls.ca_file`, `-ca-cert`, ...).
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A file holds no usable PEM of the expected kind.
    #[error("{field}: {path} {message}")]
    Pem {
        /// The setting.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A combination of settings cannot work.
    #[error("tls: {0}")]
    Config(String),
    /// rustls refused the material (e.g. the key does not match the certificate).
    #[error("tls: {0}; check that cert_file and key_file belong together and ca_file signed them")]
    Rustls(String),
}

/// Installs ring as the process-wide rustls crypto provider, once. Harmless when one is
/// already installed (by main, or by an embedding program).
pub fn ensure_crypto_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // Err only when another provider won the race: that one serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The one way this crate starts a `reqwest::Client`: installs the crypto provider
/// first, so building the client cannot panic.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    ensure_crypto_provider();
    reqwest::Client::builder()
}

/// A plain reqwest client with default settings (the crate's `reqwest::Client::new`).
pub fn http_client() -> reqwest::Client {
    // Building a default client fails only when the TLS backend cannot start, which
    // the installed provider rules out; `Default` is the same client then.
    http_client_builder().build().unwrap_or_default()
}

/// The agent's `tls` block as written (paths, switches), before any file is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// Serve the HTTP API over HTTPS.
    pub http: bool,
    /// Use mutual TLS for Raft, joins, forwarding and the clients' RPC-port calls.
    pub rpc: bool,
    /// The CA that signed every agent's certificate (PEM).
    pub ca_file: Option<PathBuf>,
    /// This agent's certificate (PEM, leaf first).
    pub cert_file: Option<PathBuf>,
    /// This agent's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// Servers must present a certificate for `server.<region>.nomad`, and only such a
    /// certificate may call the Raft endpoints.
    pub verify_server_hostname: bool,
    /// HTTPS callers must present a certificate signed by the CA.
    pub verify_https_client: bool,
    /// `tls_min_version`: `tls12` (also when empty) or `tls13`.
    pub min_version: String,
    /// `tls_cipher_suites`: the TLS 1.2 suites allowed, Go's names (empty: all).
    pub cipher_suites: Vec<String>,
    /// `tls_prefer_server_cipher_suites`.
    pub prefer_server_cipher_suites: bool,
    /// `rpc_upgrade_mode`: the RPC port also accepts plain connections, while a cluster
    /// moves to TLS.
    pub rpc_upgrade_mode: bool,
}

/// Loaded TLS material and what it is for. Cheap to share behind an `Arc`.
pub struct TlsSetup {
    /// The settings it was loaded from.
    pub settings: TlsSettings,
    /// `<region>.<domain>` names: `server.global.nomad` for servers.
    pub server_name: String,
    /// `client.global.nomad`, the name client agents' certificates carry.
    pub client_name: String,
    roots: Arc<RootCertStore>,
    identity: Arc<identity::Identity>,
    protocol: identity::Protocol,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("settings", &self.settings)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsSetup {
    /// Reads and checks the files of `settings` for an agent of `region`. `None` when
    /// neither `http` nor `rpc` is on (the block then changes nothing, as in Nomad).
    pub fn load(settings: &TlsSettings, region: &str) -> Result<Option<TlsSetup>, TlsError> {
        if !settings.http && !settings.rpc {
            return Ok(None);
        }
        let need = |field: &'static str, v: &Option<PathBuf>| {
            v.clone().ok_or_else(|| {
                TlsError::Config(format!(
                    "tls.{field} is required when tls.http or tls.rpc is true (create one with `orch tls ca create` / `orch tls cert create`)"
                ))
            })
        };
        let ca = need("ca_file", &settings.ca_file)?;
        let cert = need("cert_file", &settings.cert_file)?;
        let key = need("key_file", &settings.key_file)?;
        let roots = Arc::new(read_roots("tls.ca_file", &ca)?);
        let protocol = identity::Protocol::new(
            &settings.min_version,
            &settings.cipher_suites,
            settings.prefer_server_cipher_suites,
        )?;
        let identity = identity::Identity::load(cert, key, Arc::clone(&protocol.provider))?;
        Ok(Some(TlsSetup {
            settings: settings.clone(),
            server_name: format!("server.{region}.nomad"),
            client_name: format!("client.{region}.nomad"),
            roots,
            identity: Arc::new(identity),
            protocol,
        }))
    }

    /// Reads the certificate and key files again (SIGHUP); new handshakes present them.
    /// The CA and the other settings are read only at start.
    pub fn reload(&self) -> Result<(), TlsError> {
        self.identity.reload()
    }

    /// The protocol versions, suites and suite order every config of this agent uses.
    pub fn protocol(&self) -> &identity::Protocol {
        &self.protocol
    }

    /// The CA roots every peer certificate must chain to.
    pub fn roots(&self) -> Arc<RootCertStore> {
        Arc::clone(&self.roots)
    }

    /// This agent's certificate, for listeners and as client identity (swapped by
    /// [`TlsSetup::reload`]).
    pub fn identity(&self) -> Arc<identity::Identity> {
        Arc::clone(&self.identity)
    }
}

/// Reads every certificate of a PEM file.
pub fn read_certs(
    field: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(field, path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| pem(field, path, format!("is not readable PEM ({e})")))?;
    if certs.is_empty() {
        return Err(pem(field, path, "holds no CERTIFICATE block".into()));
    }
    Ok(certs)
}

/// Reads a CA file into a root store.
pub fn read_roots(field: &'static str, path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(field, path)? {
        roots.add(cert).map_err(|e| {
            pem(
                field,
                path,
                format!("holds a certificate rustls refuses as a CA ({e})"),
            )
        })?;
    }
    Ok(roots)
}

/// Reads the first private key of a PEM file.
pub fn read_key(field: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(field, path)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| pem(field, path, format!("holds no readable private key ({e})")))
}

fn read(field: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        field,
        path: path.to_path_buf(),
        source,
    })
}

fn pem(field: &'static str, path: &Path, message: String) -> TlsError {
    TlsError::Pem {
        field,
        path: path.to_path_buf(),
        message,
    }
}

/// A reqwest client together with the scheme its peers speak (`http` or `https`), so
/// callers that hold `host:port` addresses build the right URL.
#[derive(Clone)]
pub struct Link {
    client: reqwest::Client,
    scheme: &'static str,
    /// The same TLS config as `client`'s, for connections reqwest cannot make
    /// (websockets, [`crate::ws`]).
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The cluster secret `client` sends on every call.
    secret: Option<Arc<str>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl Default for Link {
    fn default() -> Self {
        Link::plain()
    }
}

impl Link {
    /// Plain HTTP with default settings, as before TLS existed.
    pub fn plain() -> Link {
        Link {
            client: http_client(),
            scheme: "http",
            tls: None,
            secret: None,
        }
    }

    /// The client, for requests built by hand.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// The TLS config of this link's connections (`None`: plain HTTP).
    pub fn tls_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.tls.clone()
    }

    /// The headers `client` adds to every call (the cluster secret), for connections
    /// made without it.
    pub fn default_headers(&self) -> Vec<(&'static str, String)> {
        self.secret
            .iter()
            .map(|s| (CLUSTER_SECRET_HEADER, s.to_string()))
            .collect()
    }

    /// `<scheme>://<addr><path>`; an `addr` that already names a scheme loses it.
    pub fn url(&self, addr: &str, path: &str) -> String {
        let host = addr
            .strip_prefix("https://")
            .or_else(|| addr.strip_prefix("http://"))
            .unwrap_or(addr)
            .trim_end_matches('/');
        format!("{}://{host}{path}", self.scheme)
    }
}

/// Which names the far end of a connection must prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    /// A server's RPC port: `server.<region>.nomad` under `verify_server_hostname`.
    Server,
    /// An agent's HTTP API (server or client agent): either role's name.
    Agent,
}

/// What one agent applies to its peer traffic. `Default` is plain HTTP with no secret,
/// as before (tests and embedders that set nothing keep working).
#[derive(Clone, Default)]
pub struct AgentSecurity {
    /// The loaded TLS material, when `tls.http` or `tls.rpc` is on.
    pub tls: Option<Arc<TlsSetup>>,
    /// The cluster secret (`server.encrypt`), presented and required on peer calls.
    pub secret: Option<Arc<str>>,
}

impl std::fmt::Debug for AgentSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSecurity")
            .field("tls", &self.tls)
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl AgentSecurity {
    /// Whether the RPC port (Raft, joins, clients' calls) speaks TLS.
    pub fn rpc_tls(&self) -> Option<&Arc<TlsSetup>> {
        self.tls.as_ref().filter(|t| t.settings.rpc)
    }

    /// Whether the HTTP API speaks TLS.
    pub fn http_tls(&self) -> Option<&Arc<TlsSetup>> {
        self.tls.as_ref().filter(|t| t.settings.http)
    }

    /// The link for calls to servers' RPC ports: TLS with this agent's certificate as
    /// client identity when `tls.rpc`, and the cluster secret as a header.
    pub fn rpc_link(&self, builder: reqwest::ClientBuilder) -> Result<Link, TlsError> {
        self.link(builder, self.rpc_tls(), PeerKind::Server)
    }

    /// The link for calls to other agents' HTTP APIs (forwarding).
    pub fn http_link(&self, builder: reqwest::ClientBuilder) -> Result<Link, TlsError> {
        self.link(builder, self.http_tls(), PeerKind::Agent)
    }

    fn link(
        &self,
        builder: reqwest::ClientBuilder,
        tls: Option<&Arc<TlsSetup>>,
        kind: PeerKind,
    ) -> Result<Link, TlsError> {
        ensure_crypto_provider();
        let mut builder = builder;
        if let Some(secret) = &self.secret {
            let mut headers = reqwest::header::HeaderMap::new();
            let mut value = reqwest::header::HeaderValue::from_str(secret).map_err(|_| {
                TlsError::Config(
                    "server.encrypt must be a base64 key (printable ASCII only)".into(),
                )
            })?;
            value.set_sensitive(true);
            headers.insert(CLUSTER_SECRET_HEADER, value);
            builder = builder.default_headers(headers);
        }
        let (scheme, tls_config) = match tls {
            Some(tls) => {
                let config = verify::client_config(tls, kind)?;
                builder = builder.use_preconfigured_tls(config.clone());
                ("https", Some(Arc::new(config)))
            }
            None => ("http", None),
        };
        let client = builder
            .build()
            .map_err(|e| TlsError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Link {
            client,
            scheme,
            tls: tls_config,
            secret: self.secret.clone(),
        })
    }

    /// `https` when the HTTP API speaks TLS, else `http`.
    pub fn http_scheme(&self) -> &'static str {
        if self.http_tls().is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The HTTP API listener's TLS config (`None`: plain HTTP); callers must present a
    /// certificate from the CA under `verify_https_client`.
    pub fn http_listener_config(&self) -> Result<Option<ListenTls>, TlsError> {
        self.http_tls()
            .map(|t| {
                verify::server_config(t, t.settings.verify_https_client).map(|config| ListenTls {
                    config,
                    allow_plain: false,
                })
            })
            .transpose()
    }

    /// The RPC (and serf) listener's TLS config (`None`: plain HTTP). RPC is mutual TLS:
    /// every caller, server or client, presents a certificate from the CA.
    /// Under `rpc_upgrade_mode` plain connections are served too.
    pub fn rpc_listener_config(&self) -> Result<Option<ListenTls>, TlsError> {
        self.rpc_tls()
            .map(|t| {
                verify::server_config(t, true).map(|config| ListenTls {
                    config,
                    allow_plain: t.settings.rpc_upgrade_mode,
                })
            })
            .transpose()
    }

    /// The guard for routes only servers may call (Raft, joins, forwarding).
    pub fn peer_guard(&self) -> PeerGuard {
        PeerGuard::new(self.secret.clone(), self.rpc_tls().cloned())
    }
}

#[cfg(test)]
mod tests;
