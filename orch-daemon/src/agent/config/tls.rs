//! The agent's `tls` block and `server.encrypt`, as Nomad spells them.

use std::path::PathBuf;

use base64::Engine;
use serde::Deserialize;

use super::ConfigError;
use crate::tls::TlsSettings;

/// Nomad's `tls` block. Settings orch does not implement are refused as unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsBlock {
    /// HTTPS on the HTTP API.
    pub http: bool,
    /// Mutual TLS on the RPC port (Raft, joins, forwarding, clients' calls).
    pub rpc: bool,
    /// The CA certificate (PEM).
    pub ca_file: Option<PathBuf>,
    /// This agent's certificate (PEM).
    pub cert_file: Option<PathBuf>,
    /// This agent's key (PEM).
    pub key_file: Option<PathBuf>,
    /// Servers must present `server.<region>.nomad`; only they may call Raft routes.
    pub verify_server_hostname: bool,
    /// HTTPS callers must present a certificate from the CA.
    pub verify_https_client: bool,
    /// `tls12` (default) or `tls13`.
    pub tls_min_version: Option<String>,
    /// Comma-separated TLS 1.2 suites, Go's names.
    pub tls_cipher_suites: Option<String>,
    /// The server's suite order wins.
    pub tls_prefer_server_cipher_suites: bool,
    /// The RPC port accepts plain connections too, while a cluster moves to TLS.
    pub rpc_upgrade_mode: bool,
}

impl TlsBlock {
    /// Laid over `self`: switches turn on, set paths win.
    pub fn merge(&mut self, other: TlsBlock) {
        self.http |= other.http;
        self.rpc |= other.rpc;
        self.verify_server_hostname |= other.verify_server_hostname;
        self.verify_https_client |= other.verify_https_client;
        self.tls_prefer_server_cipher_suites |= other.tls_prefer_server_cipher_suites;
        self.rpc_upgrade_mode |= other.rpc_upgrade_mode;
        for (mine, theirs) in [
            (&mut self.tls_min_version, other.tls_min_version),
            (&mut self.tls_cipher_suites, other.tls_cipher_suites),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        for (mine, theirs) in [
            (&mut self.ca_file, other.ca_file),
            (&mut self.cert_file, other.cert_file),
            (&mut self.key_file, other.key_file),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
    }

    /// The settings the TLS layer loads.
    pub fn settings(&self) -> TlsSettings {
        TlsSettings {
            http: self.http,
            rpc: self.rpc,
            ca_file: self.ca_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            verify_server_hostname: self.verify_server_hostname,
            verify_https_client: self.verify_https_client,
            min_version: self.tls_min_version.clone().unwrap_or_default(),
            cipher_suites: self
                .tls_cipher_suites
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            prefer_server_cipher_suites: self.tls_prefer_server_cipher_suites,
            rpc_upgrade_mode: self.rpc_upgrade_mode,
        }
    }

    /// Refuses combinations that cannot work, naming the setting.
    pub fn check(&self) -> Result<(), ConfigError> {
        if (self.verify_https_client && !self.http) || (self.verify_server_hostname && !self.rpc) {
            let (flag, needs) = if self.verify_https_client && !self.http {
                ("verify_https_client", "http")
            } else {
                ("verify_server_hostname", "rpc")
            };
            return Err(ConfigError::Flag(format!(
                "tls.{flag} = true needs tls.{needs} = true (there is no TLS to verify otherwise)"
            )));
        }
        if self.rpc_upgrade_mode && !self.rpc {
            return Err(ConfigError::Flag(
                "tls.rpc_upgrade_mode = true needs tls.rpc = true (it lets the RPC port accept plain connections beside TLS ones)".into(),
            ));
        }
        let s = self.settings();
        crate::tls::identity::Protocol::new(&s.min_version, &s.cipher_suites, false).map_err(
            |e| ConfigError::Flag(format!("tls.{}", e.to_string().trim_start_matches("tls: "))),
        )?;
        Ok(())
    }
}

/// Checks `server.encrypt`: a base64 key of 16, 24 or 32 bytes, as `nomad operator
/// gossip keyring generate` makes. orch uses it as the cluster secret.
pub fn check_encrypt(key: &str) -> Result<(), ConfigError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .map_err(|e| {
            ConfigError::Flag(format!(
                "server.encrypt is not base64 ({e}); generate a key with `openssl rand -base64 32`"
            ))
        })?;
    if ![16, 24, 32].contains(&bytes.len()) {
        return Err(ConfigError::Flag(format!(
            "server.encrypt decodes to {} bytes; it must be 16, 24 or 32 (`openssl rand -base64 32`)",
            bytes.len()
        )));
    }
    Ok(())
}
