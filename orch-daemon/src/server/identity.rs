//! Workload identities: JWTs signed with the keyring's active root key (EdDSA over
//! Ed25519, `kid` = the root key's ID) carrying Nomad's claims, and their verification
//! against the public keys in the replicated root key metadata (no key material needed,
//! so every server verifies).
//!
//! Written by hand rather than with a JWT crate: one algorithm, a fixed header and a
//! fixed claim set are a few lines over `ed25519-dalek`, and the crates that do more pull
//! in other signature stacks.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use orch_core::state::StateStore;
use serde::{Deserialize, Serialize};

use super::keyring::RootKey;

/// The audience of the default identity (Nomad's).
pub const DEFAULT_AUDIENCE: &str = orch_core::model::DEFAULT_IDENTITY_AUDIENCE;
/// Longest token accepted for verification.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Nomad's workload identity claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `<region>:<namespace>:<job>:<group>:<task>:<identity>`.
    pub sub: String,
    /// Audiences.
    pub aud: Vec<String>,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// Expiry, Unix seconds (only with a TTL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Namespace of the allocation.
    pub nomad_namespace: String,
    /// Job of the allocation.
    pub nomad_job_id: String,
    /// The allocation.
    pub nomad_allocation_id: String,
    /// The task.
    pub nomad_task: String,
    /// The task group (orch adds it: the variables a task may read depend on it).
    #[serde(default)]
    pub nomad_group: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: String,
    typ: String,
}

/// Why a presented identity was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    /// Not a well-formed EdDSA JWT.
    #[error("invalid workload identity: {0}")]
    Malformed(&'static str),
    /// No root key with its `kid`, or the signature does not verify.
    #[error("workload identity signature does not verify")]
    Signature,
    /// `exp` has passed or `nbf` has not come.
    #[error("workload identity expired")]
    Expired,
    /// Its allocation is gone or terminal.
    #[error("workload identity's allocation is unknown or terminal")]
    Allocation,
    /// An identity meant for a third party (its audience is not Nomad's).
    #[error(
        "workload identity is not meant for this API (its audience lacks \"nomadproject.io\"); present the task's default identity"
    )]
    Audience,
}

/// Signs `claims` with `key`.
pub fn sign(key: &RootKey, claims: &Claims) -> String {
    let header = Header {
        alg: "EdDSA".into(),
        kid: key.id.clone(),
        typ: "JWT".into(),
    };
    let h = B64URL.encode(serde_json::to_vec(&header).unwrap_or_default());
    let c = B64URL.encode(serde_json::to_vec(claims).unwrap_or_default());
    let input = format!("{h}.{c}");
    let sig = key.signing_key().sign(input.as_bytes());
    format!("{input}.{}", B64URL.encode(sig.to_bytes()))
}

/// Whether `token` has a JWT's shape (three dot-separated parts): how the ACL guard
/// tells identities from ACL secrets (UUIDs).
pub fn looks_like_jwt(token: &str) -> bool {
    token.len() > 40 && token.matches('.').count() == 2
}

/// Verifies `token` against the state: signature by a root key it knows, times
/// (`now` in Unix nanoseconds), an allocation that exists and is not terminal.
pub fn verify(state: &StateStore, token: &str, now: i64) -> Result<Claims, IdentityError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(IdentityError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdentityError::Malformed("not three parts"));
    };
    let decode = |p: &str| {
        B64URL
            .decode(p)
            .map_err(|_| IdentityError::Malformed("base64"))
    };
    let header: Header =
        serde_json::from_slice(&decode(h)?).map_err(|_| IdentityError::Malformed("header"))?;
    if header.alg != "EdDSA" {
        return Err(IdentityError::Malformed("algorithm is not EdDSA"));
    }
    let meta = state
        .root_key(&header.kid)
        .ok_or(IdentityError::Signature)?;
    let public: [u8; 32] = meta
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| IdentityError::Signature)?;
    let vk = VerifyingKey::from_bytes(&public).map_err(|_| IdentityError::Signature)?;
    let sig_bytes: [u8; 64] = decode(s)?
        .try_into()
        .map_err(|_| IdentityError::Malformed("signature length"))?;
    vk.verify(
        format!("{h}.{c}").as_bytes(),
        &Signature::from_bytes(&sig_bytes),
    )
    .map_err(|_| IdentityError::Signature)?;
    let claims: Claims =
        serde_json::from_slice(&decode(c)?).map_err(|_| IdentityError::Malformed("claims"))?;
    let secs = now / 1_000_000_000;
    if claims.exp.is_some_and(|e| secs >= e) || claims.nbf > secs + 60 {
        return Err(IdentityError::Expired);
    }
    if !claims.aud.iter().any(|a| a == DEFAULT_AUDIENCE) {
        return Err(IdentityError::Audience);
    }
    match state.alloc(&claims.nomad_allocation_id) {
        Some(a) if !a.terminal() && a.namespace == claims.nomad_namespace.as_str() => Ok(claims),
        _ => Err(IdentityError::Allocation),
    }
}

/// What a task of an allocation is given to sign: its default identity (always: it
/// reads the task's variables for templates) and every named identity of the task, by
/// identity name. `now` in Unix seconds.
pub fn task_claims(
    region: &str,
    alloc: &orch_core::model::Allocation,
    group: &str,
    task: &orch_core::model::Task,
    now: i64,
) -> Vec<(String, Claims)> {
    use orch_core::model::{DEFAULT_IDENTITY, WorkloadIdentity};
    let default = WorkloadIdentity {
        name: DEFAULT_IDENTITY.into(),
        audience: vec![DEFAULT_AUDIENCE.into()],
        ..Default::default()
    };
    let wanted =
        std::iter::once(task.identity.as_ref().unwrap_or(&default)).chain(task.identities.iter());
    wanted
        .map(|w| {
            let name = w.token_name();
            let aud = if w.audience.is_empty() && w.is_default() {
                vec![DEFAULT_AUDIENCE.into()]
            } else {
                w.audience.clone()
            };
            let claims = Claims {
                sub: format!(
                    "{region}:{}:{}:{group}:{}:{name}",
                    alloc.namespace, alloc.job_id, task.name
                ),
                aud,
                iat: now,
                nbf: now,
                exp: (w.ttl > 0).then(|| now + (w.ttl / 1_000_000_000).max(1)),
                nomad_namespace: alloc.namespace.to_string(),
                nomad_job_id: alloc.job_id.to_string(),
                nomad_allocation_id: alloc.id.to_string(),
                nomad_task: task.name.clone(),
                nomad_group: group.to_string(),
            };
            (name.to_string(), claims)
        })
        .collect()
}

/// The JSON Web Key Set of the keyring's public keys (`/.well-known/jwks.json`).
pub fn jwks(state: &StateStore) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = state
        .root_keys()
        .map(|k| {
            serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": k.key_id,
                "x": B64URL.encode(&k.public_key),
            })
        })
        .collect();
    serde_json::json!({ "keys": keys })
}

/// Whether a workload with `claims` may read the variable at `path` in `namespace` by
/// default: `nomad/jobs/<job>`, `.../<group>`, `.../<group>/<task>` of its namespace.
pub fn may_read_variable(claims: &Claims, namespace: &str, path: &str) -> bool {
    if namespace != claims.nomad_namespace {
        return false;
    }
    let job = format!("nomad/jobs/{}", claims.nomad_job_id);
    let group = format!("{job}/{}", claims.nomad_group);
    let task = format!("{group}/{}", claims.nomad_task);
    path == job || path == group || path == task
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sub: "global:default:web:g:t:default".into(),
            aud: vec![DEFAULT_AUDIENCE.into()],
            iat: 1,
            nbf: 1,
            exp: None,
            nomad_namespace: "default".into(),
            nomad_job_id: "web".into(),
            nomad_allocation_id: "a1".into(),
            nomad_task: "t".into(),
            nomad_group: "g".into(),
        }
    }

    #[test]
    fn default_paths_are_the_jobs_own() {
        let c = claims();
        for ok in ["nomad/jobs/web", "nomad/jobs/web/g", "nomad/jobs/web/g/t"] {
            assert!(may_read_variable(&c, "default", ok), "{ok}");
        }
        for bad in [
            "nomad/jobs/other",
            "nomad/jobs/web/h",
            "app/x",
            "nomad/jobs/web/g/t/x",
        ] {
            assert!(!may_read_variable(&c, "default", bad), "{bad}");
        }
        assert!(!may_read_variable(&c, "prod", "nomad/jobs/web"));
    }

    #[test]
    fn tokens_verify_only_with_their_key_and_allocation() {
        let key = RootKey::generate("k1".into()).unwrap();
        let token = sign(&key, &claims());
        assert!(looks_like_jwt(&token));
        let state = StateStore::new();
        // No root key in the state: the signature cannot be checked.
        assert_eq!(verify(&state, &token, 0), Err(IdentityError::Signature));
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 3, 'x');
        assert!(verify(&state, &tampered, 0).is_err());
    }
}
