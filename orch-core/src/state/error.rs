//! Why the state machine refused a command. Every message says what to change so the
//! caller (an HTTP handler, the scheduler, a client) can act on it without reading code.

use thiserror::Error;

/// A command the state store refused. A refused command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StateError {
    /// Commands must arrive in Raft log order; replaying an old entry is a caller bug.
    #[error(
        "raft index {index} is not after the last applied index {latest}; apply commands in log order with strictly increasing indexes"
    )]
    StaleIndex {
        /// Index the command arrived with.
        index: u64,
        /// Last index the store applied.
        latest: u64,
    },
    /// The job does not exist (never registered, or purged).
    #[error(
        "job {job_id:?} not found in namespace {namespace:?}; register the job first or check the namespace"
    )]
    JobNotFound {
        /// Namespace looked in.
        namespace: String,
        /// Job ID looked for.
        job_id: String,
    },
    /// The job exists but that version is not (or no longer) tracked.
    #[error(
        "job {job_id:?} in namespace {namespace:?} at version {version} not found; only the last tracked versions are kept, list them with the job versions API"
    )]
    JobVersionNotFound {
        /// Namespace of the job.
        namespace: String,
        /// Job ID.
        job_id: String,
        /// Version asked for.
        version: u64,
    },
    /// The node never registered or was deregistered.
    #[error(
        "node {0:?} not found; a node must register before it can be updated or receive allocations"
    )]
    NodeNotFound(String),
    /// The evaluation does not exist (or was garbage-collected).
    #[error(
        "evaluation {0:?} not found; it may have been garbage-collected, create a new evaluation"
    )]
    EvalNotFound(String),
    /// The allocation does not exist (or was garbage-collected).
    #[error(
        "allocation {0:?} not found; it may have been garbage-collected, refresh the allocation list"
    )]
    AllocNotFound(String),
    /// The deployment does not exist (or was garbage-collected).
    #[error(
        "deployment {0:?} not found; it may have been garbage-collected, look up the job's latest deployment"
    )]
    DeploymentNotFound(String),
    /// A check-and-set on the job modify index failed; Nomad's exact wording.
    #[error("Enforcing job modify index {expected}: {reason}")]
    EnforceIndex {
        /// Index the caller expected.
        expected: u64,
        /// What was found instead.
        reason: String,
    },
    /// The request is well formed but the current state forbids it.
    #[error("{0}")]
    Conflict(String),
    /// The request itself is malformed.
    #[error("{0}")]
    Invalid(String),
    /// A snapshot could not be written or read.
    #[error("state snapshot: {0}")]
    Snapshot(String),
}
