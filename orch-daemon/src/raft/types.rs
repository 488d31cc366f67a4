//! The openraft type configuration and the serializable form of apply results.

use openraft::BasicNode;
use orch_core::state::{Response, StateError};
use serde::{Deserialize, Serialize};

/// A server's Raft ID. See [`super::node_id_from_name`] for how it is chosen.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// Orch's Raft types: a log entry carries a [`CommandBatch`](super::CommandBatch) of
    /// [`Command`](orch_core::state::Command)s (see [`super::batcher`]), applying it
    /// yields one [`ApplyResult`] per command, and a member's node data is its RPC
    /// address (`host:port`).
    pub TypeConfig:
        D = super::CommandBatch,
        R = ApplyResults,
        NodeId = NodeId,
        Node = BasicNode,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

/// The Raft instance orch runs.
pub type OrchRaft = openraft::Raft<TypeConfig>;

/// What applying one committed entry produced. A refused command is still a committed
/// (no-op) entry: every replica refuses it the same way, and the refusal goes back to the
/// proposer. It is serializable so a forwarded write can carry it back to the follower.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyResult(pub Result<Response, WireStateError>);

impl Default for ApplyResult {
    /// The result of blank and membership entries, which carry no command.
    fn default() -> Self {
        ApplyResult(Ok(Response::default()))
    }
}

/// The results of one entry's commands, in order; empty for blank and membership
/// entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyResults(pub Vec<ApplyResult>);

/// [`StateError`] in a form that survives postcard, so a refusal forwarded from the leader
/// reaches the caller as the same typed error (HTTP handlers map variants to status codes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireStateError {
    /// [`StateError::StaleIndex`].
    StaleIndex {
        /// As in [`StateError`].
        index: u64,
        /// As in [`StateError`].
        latest: u64,
    },
    /// [`StateError::JobNotFound`].
    JobNotFound {
        /// As in [`StateError`].
        namespace: String,
        /// As in [`StateError`].
        job_id: String,
    },
    /// [`StateError::JobVersionNotFound`].
    JobVersionNotFound {
        /// As in [`StateError`].
        namespace: String,
        /// As in [`StateError`].
        job_id: String,
        /// As in [`StateError`].
        version: u64,
    },
    /// [`StateError::NodeNotFound`].
    NodeNotFound(String),
    /// [`StateError::EvalNotFound`].
    EvalNotFound(String),
    /// [`StateError::AllocNotFound`].
    AllocNotFound(String),
    /// [`StateError::DeploymentNotFound`].
    DeploymentNotFound(String),
    /// [`StateError::EnforceIndex`].
    EnforceIndex {
        /// As in [`StateError`].
        expected: u64,
        /// As in [`StateError`].
        reason: String,
    },
    /// [`StateError::Conflict`].
    Conflict(String),
    /// [`StateError::Invalid`].
    Invalid(String),
    /// [`StateError::Snapshot`].
    Snapshot(String),
}

impl From<StateError> for WireStateError {
    fn from(e: StateError) -> Self {
        use StateError as S;
        use WireStateError as W;
        match e {
            S::StaleIndex { index, latest } => W::StaleIndex { index, latest },
            S::JobNotFound { namespace, job_id } => W::JobNotFound { namespace, job_id },
            S::JobVersionNotFound {
                namespace,
                job_id,
                version,
            } => W::JobVersionNotFound {
                namespace,
                job_id,
                version,
            },
            S::NodeNotFound(s) => W::NodeNotFound(s),
            S::EvalNotFound(s) => W::EvalNotFound(s),
            S::AllocNotFound(s) => W::AllocNotFound(s),
            S::DeploymentNotFound(s) => W::DeploymentNotFound(s),
            S::EnforceIndex { expected, reason } => W::EnforceIndex { expected, reason },
            S::Conflict(s) => W::Conflict(s),
            S::Invalid(s) => W::Invalid(s),
            S::Snapshot(s) => W::Snapshot(s),
        }
    }
}

impl From<WireStateError> for StateError {
    fn from(e: WireStateError) -> Self {
        use StateError as S;
        use WireStateError as W;
        match e {
            W::StaleIndex { index, latest } => S::StaleIndex { index, latest },
            W::JobNotFound { namespace, job_id } => S::JobNotFound { namespace, job_id },
            W::JobVersionNotFound {
                namespace,
                job_id,
                version,
            } => S::JobVersionNotFound {
                namespace,
                job_id,
                version,
            },
            W::NodeNotFound(s) => S::NodeNotFound(s),
            W::EvalNotFound(s) => S::EvalNotFound(s),
            W::AllocNotFound(s) => S::AllocNotFound(s),
            W::DeploymentNotFound(s) => S::DeploymentNotFound(s),
            W::EnforceIndex { expected, reason } => S::EnforceIndex { expected, reason },
            W::Conflict(s) => S::Conflict(s),
            W::Invalid(s) => S::Invalid(s),
            W::Snapshot(s) => S::Snapshot(s),
        }
    }
}
