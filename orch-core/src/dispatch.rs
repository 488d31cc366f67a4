//! Dispatching parameterized jobs: checking a dispatch request against the parent's
//! `parameterized` block and deriving the child job (Nomad's `Job.Dispatch`).
//!
//! Pure: the caller (the HTTP API) supplies the time and the random ID suffix, decodes
//! the payload and proposes the child with its evaluation.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Job, job_status};
use crate::state::StateStore;

/// The largest payload a dispatch may carry, in bytes (Nomad's
/// `DispatchPayloadSizeLimit`): payloads travel inside the job through the Raft log.
pub const PAYLOAD_SIZE_LIMIT: usize = 16 * 1024;

/// What the dispatcher appends to the parent's ID, before `<unix secs>-<8 hex>`.
pub const DISPATCH_SUFFIX: &str = "/dispatch-";

/// Why a dispatch was refused. Messages keep Nomad's wording so users' searches match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The job has no `parameterized` block (or is itself a dispatched child).
    #[error(
        "Specified job {0:?} is not a parameterized job; only jobs with a parameterized block can be dispatched"
    )]
    NotParameterized(String),
    /// The parent is stopped.
    #[error("Specified job {0:?} is stopped; run it again before dispatching it")]
    Stopped(String),
    /// `payload = "forbidden"` and a payload was given.
    #[error("Payload is not allowed: the job's parameterized block sets payload = \"forbidden\"")]
    PayloadForbidden,
    /// `payload = "required"` and none was given.
    #[error(
        "Payload is required: the job's parameterized block sets payload = \"required\"; pass an input file or -"
    )]
    PayloadRequired,
    /// The payload is larger than [`PAYLOAD_SIZE_LIMIT`].
    #[error(
        "Payload exceeds maximum size; {0} > {PAYLOAD_SIZE_LIMIT} bytes: pass large inputs through an artifact instead"
    )]
    PayloadTooLarge(usize),
    /// Meta keys neither required nor optional.
    #[error(
        "Dispatch request included unpermitted metadata keys: {0:?}; allow them in meta_optional or leave them out"
    )]
    UnpermittedMeta(Vec<String>),
    /// Required meta keys missing.
    #[error("Dispatch did not provide required meta keys: {0:?}")]
    MissingMeta(Vec<String>),
}

/// Checks a dispatch of `parent` with a payload of `payload_len` bytes and `meta`.
pub fn validate(
    parent: &Job,
    payload_len: usize,
    meta: &BTreeMap<String, String>,
) -> Result<(), DispatchError> {
    let Some(p) = parent
        .parameterized_job
        .as_ref()
        .filter(|_| !parent.dispatched)
    else {
        return Err(DispatchError::NotParameterized(parent.id.clone()));
    };
    if parent.stop {
        return Err(DispatchError::Stopped(parent.id.clone()));
    }
    match p.payload.as_str() {
        "forbidden" if payload_len > 0 => return Err(DispatchError::PayloadForbidden),
        "required" if payload_len == 0 => return Err(DispatchError::PayloadRequired),
        _ => {}
    }
    if payload_len > PAYLOAD_SIZE_LIMIT {
        return Err(DispatchError::PayloadTooLarge(payload_len));
    }
    let allowed: BTreeSet<&String> = p.meta_required.iter().chain(&p.meta_optional).collect();
    let unpermitted: Vec<String> = meta
        .keys()
        .filter(|k| !allowed.contains(k))
        .cloned()
        .collect();
    if !unpermitted.is_empty() {
        return Err(DispatchError::UnpermittedMeta(unpermitted));
    }
    let missing: Vec<String> = p
        .meta_required
        .iter()
        .filter(|k| !meta.contains_key(*k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(DispatchError::MissingMeta(missing));
    }
    Ok(())
}

/// The dispatched child: `<parent>/dispatch-<unix secs>-<suffix>`, `Dispatched` and
/// `ParentID` set, the dispatch meta merged over the parent's, the payload (base64, as
/// Nomad's JSON carries it) and idempotency token stored on the job.
pub fn derive_child(
    parent: &Job,
    now: i64,
    suffix: &str,
    meta: &BTreeMap<String, String>,
    payload_base64: &str,
    idempotency_token: &str,
) -> Job {
    let mut child = parent.clone();
    child.id = dispatched_id(&parent.id, "", now, suffix);
    child.name.clone_from(&child.id);
    child.parent_id.clone_from(&parent.id);
    child.dispatched = true;
    child.payload = payload_base64.to_string();
    child.dispatch_idempotency_token = idempotency_token.to_string();
    child
        .meta
        .extend(meta.iter().map(|(k, v)| (k.clone(), v.clone())));
    crate::periodic::reset_bookkeeping(&mut child);
    child
}

/// Most bytes of a dispatch's `IdPrefixTemplate`.
pub const MAX_ID_PREFIX_LEN: usize = 128;

/// Nomad's `DispatchedID`: `<parent>/dispatch-<unix secs>-<suffix>`, or with an
/// `IdPrefixTemplate`, `<parent>/dispatch-<prefix>-<unix secs>-<suffix>`.
pub fn dispatched_id(parent_id: &str, id_prefix: &str, now: i64, suffix: &str) -> String {
    let secs = now.div_euclid(1_000_000_000);
    if id_prefix.is_empty() {
        format!("{parent_id}{DISPATCH_SUFFIX}{secs}-{suffix}")
    } else {
        format!("{parent_id}{DISPATCH_SUFFIX}{id_prefix}-{secs}-{suffix}")
    }
}

/// Refuses an `IdPrefixTemplate` that would make an invalid job ID (whitespace or
/// control characters) or an unbounded one.
pub fn check_id_prefix(id_prefix: &str) -> Result<(), String> {
    if id_prefix.len() > MAX_ID_PREFIX_LEN {
        return Err(format!(
            "IdPrefixTemplate: {} bytes, at most {MAX_ID_PREFIX_LEN} are allowed",
            id_prefix.len()
        ));
    }
    if id_prefix
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(
            "IdPrefixTemplate: job IDs cannot contain spaces or control characters; remove them"
                .into(),
        );
    }
    Ok(())
}

/// A child of `parent` dispatched with `token` that is not dead yet: Nomad returns it
/// instead of dispatching again.
pub fn existing_dispatch<'a>(
    state: &'a StateStore,
    namespace: &str,
    parent: &str,
    token: &str,
) -> Option<&'a Job> {
    if token.is_empty() {
        return None;
    }
    state
        .child_jobs(namespace, parent)
        .into_iter()
        .find(|c| c.dispatch_idempotency_token == token && c.status != job_status::DEAD)
}

#[cfg(test)]
mod tests;
