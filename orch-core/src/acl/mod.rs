//! Nomad's access control: the policy language ([`policy`]), its capabilities
//! ([`caps`]) and the merged rights of one caller ([`compiled::Acl`]).
//!
//! Pure: the state stores policies, tokens and roles (`state::acl`); the HTTP layer
//! resolves the caller's token into an [`Acl`] with [`crate::state::StateStore::resolve_acl`]
//! and asks it before answering. Nothing here reads a clock: "now" is an argument.

pub mod caps;
pub mod compiled;
pub mod policy;
pub mod variables;

#[cfg(test)]
mod tests;

pub use caps::{Level, NsCap, NsCaps};
pub use compiled::Acl;
pub use policy::{PolicyRules, parse_rules};
pub use variables::{VarCap, VarCaps};

/// Why policy rules or a token were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    /// Policy rules that do not parse or validate; the message names the rule.
    #[error("invalid ACL policy rules: {0}")]
    Rules(String),
    /// No token has this secret.
    #[error("ACL token not found")]
    TokenNotFound,
    /// The token's expiration time has passed.
    #[error("ACL token expired")]
    TokenExpired,
}

/// Whether `name` is a valid policy or role name (Nomad: `^[a-zA-Z0-9-]{1,128}$`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}
