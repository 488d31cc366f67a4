//! Workload identities a task asks for (`identity` blocks), in Nomad's JSON shape.
//!
//! Every task has a default identity the servers sign for it (it reads the task's
//! variables); an `identity` block without a name exposes that one to the task
//! (`NOMAD_TOKEN`, `secrets/nomad_token`), and blocks with a name ask for additional
//! tokens with their own audience and lifetime, meant for third parties (an OIDC
//! provider, Vault) that verify them against `/.well-known/jwks.json`.

use serde::{Deserialize, Serialize};

use super::wire::Nanos;

/// The name of the default identity.
pub const DEFAULT_IDENTITY: &str = "default";
/// The audience of the default identity when the block names none (Nomad's).
pub const DEFAULT_IDENTITY_AUDIENCE: &str = "nomadproject.io";

/// One identity of a task (Nomad's `WorkloadIdentity`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkloadIdentity {
    /// `default` for the task's own identity, else unique within the task.
    #[serde(rename = "Name")]
    pub name: String,
    /// The token's `aud` claim.
    #[serde(rename = "Audience")]
    pub audience: Vec<String>,
    /// What the client does when the token is renewed: `noop` (or empty), `restart`,
    /// `signal`.
    #[serde(rename = "ChangeMode")]
    pub change_mode: String,
    /// The signal for `change_mode = "signal"`.
    #[serde(rename = "ChangeSignal")]
    pub change_signal: String,
    /// Expose the token in `NOMAD_TOKEN` (`NOMAD_TOKEN_<name>` for named identities).
    #[serde(rename = "Env")]
    pub env: bool,
    /// Write the token to `secrets/nomad_token` (`secrets/nomad_<name>.jwt`).
    #[serde(rename = "File")]
    pub file: bool,
    /// Where the file goes instead, relative to the task directory.
    #[serde(rename = "Filepath")]
    pub filepath: String,
    /// The service the identity is for (Consul service identities; empty for tasks).
    #[serde(rename = "ServiceName")]
    pub service_name: String,
    /// Lifetime of a token; the client renews it at half of it. 0: no expiry.
    #[serde(rename = "TTL")]
    pub ttl: Nanos,
}

impl WorkloadIdentity {
    /// Whether this is the task's default identity.
    pub fn is_default(&self) -> bool {
        self.name.is_empty() || self.name == DEFAULT_IDENTITY
    }

    /// The name the servers sign the token under (`default` for the default identity,
    /// whatever its block says).
    pub fn token_name(&self) -> &str {
        if self.is_default() {
            DEFAULT_IDENTITY
        } else {
            &self.name
        }
    }

    /// The environment variable that carries the token when `env` is set.
    pub fn env_var(&self) -> String {
        if self.is_default() {
            "NOMAD_TOKEN".to_string()
        } else {
            format!("NOMAD_TOKEN_{}", self.name)
        }
    }

    /// Where the token file goes when `file` is set, relative to the task directory.
    pub fn file_path(&self) -> String {
        if !self.filepath.is_empty() {
            self.filepath.clone()
        } else if self.is_default() {
            "secrets/nomad_token".to_string()
        } else {
            format!("secrets/nomad_{}.jwt", self.name)
        }
    }
}

/// The change modes of an identity (`identity { change_mode }`).
pub mod identity_change_mode {
    /// Nothing happens; the task reads the file again when it wants.
    pub const NOOP: &str = "noop";
    /// The task restarts (so `NOMAD_TOKEN` carries the new token).
    pub const RESTART: &str = "restart";
    /// The task gets `change_signal`.
    pub const SIGNAL: &str = "signal";
}
