//! The commands of the replicated log and the store's answers to them.
//!
//! A command carries everything the state machine needs to apply it deterministically:
//! the time (`now`, Unix nanoseconds) and the IDs of objects it creates (evaluations,
//! deployments, allocations) are chosen by the caller before the command enters the log,
//! so every replica applying the same log computes byte-identical state.
//!
//! All types are postcard-safe (no `skip_serializing_if`, `flatten` or `untagged`), since
//! commands are what the Raft log stores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{
    AllocDeploymentStatus, Allocation, Deployment, DesiredTransition, DrainStrategy, Evaluation,
    Job, Node, TaskState,
};

/// One entry of the replicated log: the only way to change a [`super::StateStore`].
///
/// Variants are not boxed: a command is built once, moved into the log and applied, so
/// the size difference costs nothing worth the noise of boxing at every call site.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Register a new job or a new version of one.
    JobRegister(JobRegister),
    /// Stop a job (new version with `Stop`) or purge it.
    JobDeregister(JobDeregister),
    /// Change one group's count.
    JobScale(JobScale),
    /// Re-register an older version's spec as a new version.
    JobRevert(JobRevert),
    /// Mark a job version (un)stable.
    JobStability(JobStability),
    /// Register or re-register a client node.
    NodeRegister(NodeRegister),
    /// Heartbeat-driven status change of a node.
    NodeStatusUpdate(NodeStatusUpdate),
    /// Operator toggle of a node's scheduling eligibility.
    NodeEligibility(NodeEligibility),
    /// Start, update or stop draining a node.
    NodeDrain(NodeDrain),
    /// Remove nodes.
    NodeDeregister(NodeDeregister),
    /// Create or update evaluations (new, acked, completed, blocked...).
    EvalUpsert(EvalUpsert),
    /// Garbage-collect evaluations and allocations.
    EvalDelete(EvalDelete),
    /// Commit a scheduler plan.
    ApplyPlanResults(ApplyPlanResults),
    /// Client-reported allocation state.
    AllocClientUpdate(AllocClientUpdate),
    /// Server requests (migrate, reschedule) on running allocations.
    AllocDesiredTransition(AllocDesiredTransitionUpdate),
    /// Change a deployment's status (pause, resume, fail, succeed).
    DeploymentStatusUpdate(DeploymentStatusUpdate),
    /// Promote a deployment's canaries.
    DeploymentPromote(DeploymentPromote),
    /// Record allocation health within a deployment.
    DeploymentAllocHealth(DeploymentAllocHealth),
    /// Core garbage collection: remove terminal objects in one entry.
    GcBatch(GcBatch),
    /// Add or refresh service registrations (a client's running allocations).
    ServiceUpsert(ServiceUpsert),
    /// Remove service registrations, by ID or by allocation.
    ServiceDelete(ServiceDelete),
    /// Create or replace ACL policies.
    AclPolicyUpsert(super::AclPolicyUpsert),
    /// Delete ACL policies.
    AclPolicyDelete(super::AclPolicyDelete),
    /// Create or update ACL tokens.
    AclTokenUpsert(super::AclTokenUpsert),
    /// Delete ACL tokens.
    AclTokenDelete(super::AclTokenDelete),
    /// Create or replace ACL roles.
    AclRoleUpsert(super::AclRoleUpsert),
    /// Delete ACL roles.
    AclRoleDelete(super::AclRoleDelete),
    /// The one-time ACL bootstrap.
    AclBootstrap(super::AclBootstrap),
    /// Create or replace namespaces.
    NamespaceUpsert(super::NamespaceUpsert),
    /// Delete namespaces.
    NamespaceDelete(super::NamespaceDelete),
    /// Create or replace quota specifications.
    QuotaUpsert(super::QuotaUpsert),
    /// Delete quota specifications.
    QuotaDelete(super::QuotaDelete),
    /// Register or update CSI volumes.
    CsiVolumeRegister(super::CsiVolumeRegister),
    /// Remove CSI volumes from the store.
    CsiVolumeDeregister(super::CsiVolumeDeregister),
    /// A client's report of its CSI plugin instances.
    CsiNodePlugins(super::CsiNodePluginsUpdate),
    /// Replace the cluster's scheduler configuration (optionally check-and-set).
    SchedulerConfigSet(super::SchedulerConfigSet),
    /// Replace the cluster's autopilot configuration (optionally check-and-set).
    AutopilotConfigSet(super::AutopilotConfigSet),
    /// Replace the whole state with an operator's saved snapshot (`operator snapshot
    /// restore`); see `state::restore` for what happens to the indexes.
    SnapshotRestore(super::SnapshotRestore),
    /// Create or replace node pools.
    NodePoolUpsert(super::NodePoolUpsert),
    /// Delete node pools.
    NodePoolDelete(super::NodePoolDelete),
    /// Register a job with the source it was written as (`Submission`).
    JobRegisterSubmitted(super::JobRegisterSubmitted),
    /// An operator's drain change, with its metadata for the node's `LastDrain`.
    NodeDrainMeta(super::NodeDrainMeta),
    /// Create, change, lock or delete a variable (items sealed by the daemon).
    VarApply(super::VarApply),
    /// Add a root key to the keyring (metadata only; the key stays in keystores).
    RootKeyUpsert(super::RootKeyUpsert),
    /// Remove an inactive, unused root key.
    RootKeyDelete(super::RootKeyDelete),
    /// Create or replace a policy with the workload it is attached to (`JobACL`).
    AclPolicyAttach(super::AclPolicyAttach),
    /// Register a job with orch's metric gates (`update { gate {...} }`), kept beside
    /// the version it leaves.
    JobRegisterGated(super::JobRegisterGated),
    /// The leader's reading of a deployment's metric gate.
    DeploymentGateUpdate(super::DeploymentGateUpdate),
    /// Register every job of a release and record it (orch's deployment groups).
    ReleaseRun(super::ReleaseRun),
    /// The release watcher's verdict on a running release.
    ReleaseStatusUpdate(super::ReleaseStatusUpdate),
    /// Commit a scheduler plan, its placements normalized (`state::plan_normalized`):
    /// what the leader writes to the log for an `ApplyPlanResults`.
    ApplyPlanNormalized(super::ApplyPlanNormalized),
}

/// A client registers the services of its running allocations (Nomad's
/// `ServiceRegistration.Upsert`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServiceUpsert {
    /// Registrations; each allocation must exist and be live.
    pub services: Vec<crate::model::ServiceRegistration>,
}

/// Removes registrations (`ServiceRegistration.DeleteByID` and by allocation).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServiceDelete {
    /// Registration IDs (unknown ones are skipped).
    pub ids: Vec<String>,
    /// Every registration of these allocations.
    pub alloc_ids: Vec<String>,
}

/// The leader's core GC (`CoreScheduler`): objects it found terminal and old enough.
/// Unknown IDs are skipped, so a repeated or raced GC is harmless.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GcBatch {
    /// Evaluations to remove.
    pub evals: Vec<String>,
    /// Allocations to remove.
    pub allocs: Vec<String>,
    /// Jobs to purge with their versions: `(namespace, job ID, ModifyIndex)`. A job whose
    /// `ModifyIndex` changed since the collector saw it (re-registered) is kept.
    pub jobs: Vec<(String, String, u64)>,
    /// Deployments to remove.
    pub deployments: Vec<String>,
    /// Nodes to remove: `(ID, ModifyIndex)`; a node that changed since (re-registered)
    /// is kept.
    pub nodes: Vec<(String, u64)>,
}

/// `Job.Register`: a new job gets version 0; a changed spec gets the next version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRegister {
    /// The job as submitted (already canonicalized and validated by the caller).
    pub job: Job,
    /// Evaluation created with the registration (none for periodic/parameterized jobs).
    pub eval: Option<Evaluation>,
    /// Check-and-set: `Some(0)` means the job must not exist, `Some(n)` that its
    /// `JobModifyIndex` must be `n`.
    pub enforce_index: Option<u64>,
    /// Keep the existing groups' counts (for re-submissions that must not undo scaling).
    pub preserve_counts: bool,
    /// Unix nanoseconds of the request; becomes `SubmitTime` of a new version.
    pub now: i64,
}

/// `Job.Deregister`: stop the job (new version with `Stop=true`) or purge it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDeregister {
    /// Namespace of the job.
    pub namespace: String,
    /// Job ID.
    pub job_id: String,
    /// Remove the job and its versions; its allocations stay until garbage-collected.
    pub purge: bool,
    /// Evaluation that stops the allocations.
    pub eval: Option<Evaluation>,
    /// Unix nanoseconds of the request.
    pub now: i64,
}

/// `Job.Scale`: set one group's count as a new job version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobScale {
    /// Namespace of the job.
    pub namespace: String,
    /// Job ID.
    pub job_id: String,
    /// Task group to scale.
    pub group: String,
    /// New count.
    pub count: i64,
    /// Why; recorded in the group's scaling event.
    pub message: String,
    /// Only record a scaling error event: the count is not changed and no evaluation is
    /// created (Nomad's `Error: true` scale requests).
    pub error: bool,
    /// Details recorded with the scaling event.
    pub meta: crate::model::FreeForm,
    /// Evaluation placing or stopping the difference.
    pub eval: Option<Evaluation>,
    /// Unix nanoseconds of the request.
    pub now: i64,
}

/// `Job.Revert`: re-register an older version's spec as a new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRevert {
    /// Namespace of the job.
    pub namespace: String,
    /// Job ID.
    pub job_id: String,
    /// Version to go back to.
    pub version: u64,
    /// Check-and-set: the current version must be this one.
    pub enforce_prior_version: Option<u64>,
    /// Evaluation rolling out the reverted spec.
    pub eval: Option<Evaluation>,
    /// Unix nanoseconds of the request.
    pub now: i64,
}

/// `Job.Stable`: mark a version (un)stable without creating a new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStability {
    /// Namespace of the job.
    pub namespace: String,
    /// Job ID.
    pub job_id: String,
    /// Version to mark.
    pub version: u64,
    /// Stable or not.
    pub stable: bool,
}

/// `Node.Register`: upsert a node; the store computes its class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRegister {
    /// The node as fingerprinted by the client.
    pub node: Node,
    /// Unix nanoseconds of the registration.
    pub now: i64,
}

/// `Node.UpdateStatus`: heartbeat result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatusUpdate {
    /// Node.
    pub node_id: String,
    /// `initializing`, `ready`, `down` or `disconnected`.
    pub status: String,
    /// Unix nanoseconds of the change.
    pub now: i64,
}

/// `Node.UpdateEligibility`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEligibility {
    /// Node.
    pub node_id: String,
    /// `eligible` or `ineligible`.
    pub eligibility: String,
}

/// `Node.UpdateDrain`: set or clear a drain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDrain {
    /// Node.
    pub node_id: String,
    /// The drain; `None` stops draining.
    pub drain_strategy: Option<DrainStrategy>,
    /// When clearing the drain, make the node eligible again.
    pub mark_eligible: bool,
    /// Set by the leader's drainer when the drain finished (every allocation moved):
    /// the node's event says so, and a node no longer draining is left as it is.
    pub drain_complete: bool,
    /// Unix nanoseconds of the request (drain start, force deadline base).
    pub now: i64,
}

/// `Node.Deregister` / node GC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDeregister {
    /// Nodes to remove.
    pub node_ids: Vec<String>,
}

/// `Eval.Update` / `Eval.Create` / acks: upsert evaluations by ID.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalUpsert {
    /// The evaluations, complete.
    pub evals: Vec<Evaluation>,
}

/// `Eval.Reap`: garbage-collect evaluations and allocations. Unknown IDs are skipped,
/// as in Nomad, so a repeated GC is harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalDelete {
    /// Evaluations to remove.
    pub eval_ids: Vec<String>,
    /// Allocations to remove.
    pub alloc_ids: Vec<String>,
}

/// An allocation the plan stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocStop {
    /// Allocation.
    pub alloc_id: String,
    /// Why, shown as `DesiredDescription`.
    pub desired_description: String,
    /// Client status the scheduler decided (`lost` for down nodes), if any.
    pub client_status: Option<String>,
}

/// An allocation the plan preempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocPreemption {
    /// Allocation evicted.
    pub alloc_id: String,
    /// Allocation that needed its room.
    pub preempted_by: String,
}

/// A deployment status change decided by the scheduler or the deployment watcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentUpdate {
    /// Deployment.
    pub deployment_id: String,
    /// New status (see [`crate::model::deployment_status`]).
    pub status: String,
    /// Why.
    pub status_description: String,
}

/// `Plan.Submit` result: everything a scheduler plan changes, applied atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyPlanResults {
    /// New placements and in-place updates. The embedded `Job` (if any) only supplies
    /// the job version; the store keeps allocations normalized.
    pub allocs_to_upsert: Vec<Allocation>,
    /// Allocations to stop.
    pub allocs_stopped: Vec<AllocStop>,
    /// Allocations to evict for preemption.
    pub allocs_preempted: Vec<AllocPreemption>,
    /// Deployment created or updated by the plan.
    pub deployment: Option<Deployment>,
    /// Status changes of other deployments (e.g. cancelling an older one).
    pub deployment_updates: Vec<DeploymentUpdate>,
    /// Evaluations created with the plan (for the jobs of preempted allocations).
    pub evals: Vec<Evaluation>,
    /// The evaluation the plan came from; its `ModifyIndex` is bumped (empty: none).
    pub eval_id: String,
    /// Unix nanoseconds of the plan commit.
    pub now: i64,
}

/// The client-owned fields of one allocation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AllocClientState {
    /// Allocation.
    pub id: String,
    /// `pending`, `running`, `complete`, `failed`, `lost` or `unknown`.
    pub client_status: String,
    /// Why.
    pub client_description: String,
    /// Per task.
    pub task_states: BTreeMap<String, TaskState>,
    /// Health within the deployment, when the client decides it (`None`: unchanged).
    pub deployment_status: Option<AllocDeploymentStatus>,
}

/// `Node.UpdateAlloc`: clients report their allocations' state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocClientUpdate {
    /// One entry per allocation (each ID at most once).
    pub allocs: Vec<AllocClientState>,
    /// Evaluations created with the update (reschedules of failed allocations).
    pub evals: Vec<Evaluation>,
    /// Unix nanoseconds of the update.
    pub now: i64,
}

/// `Alloc.UpdateDesiredTransition`: merge transition flags into allocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocDesiredTransitionUpdate {
    /// Per allocation, the flags to set (`None` fields are left as they are).
    pub transitions: BTreeMap<String, DesiredTransition>,
    /// Evaluations created with the update.
    pub evals: Vec<Evaluation>,
}

/// `Deployment.Pause`/`Fail`/watcher updates: set a deployment's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentStatusUpdate {
    /// Deployment.
    pub deployment_id: String,
    /// New status.
    pub status: String,
    /// Why.
    pub status_description: String,
    /// Evaluation created with the change.
    pub eval: Option<Evaluation>,
    /// Unix nanoseconds of the change.
    pub now: i64,
}

/// `Deployment.Promote`: promote canaries of all or some groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentPromote {
    /// Deployment.
    pub deployment_id: String,
    /// Groups to promote; `None` promotes all.
    pub groups: Option<Vec<String>>,
    /// Evaluation rolling out the rest.
    pub eval: Option<Evaluation>,
    /// Unix nanoseconds (new progress deadlines are measured from it).
    pub now: i64,
}

/// `Deployment.SetAllocHealth`: record allocation health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentAllocHealth {
    /// Deployment.
    pub deployment_id: String,
    /// Allocations now healthy.
    pub healthy: Vec<String>,
    /// Allocations now unhealthy.
    pub unhealthy: Vec<String>,
    /// Evaluation created with the change.
    pub eval: Option<Evaluation>,
    /// Unix nanoseconds of the decision.
    pub now: i64,
}

/// What a successful command reports back; fields that do not apply stay zero or empty,
/// mirroring Nomad's RPC replies (`EvalID`, `EvalCreateIndex`, `JobModifyIndex`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Response {
    /// Index the command was applied at.
    pub index: u64,
    /// Job modify index after the command (job commands).
    pub job_modify_index: u64,
    /// Job version after the command (job commands).
    pub job_version: u64,
    /// ID of the evaluation created with the command, if any.
    pub eval_id: String,
    /// Index at which that evaluation was created.
    pub eval_create_index: u64,
    /// Things the caller should tell the user although the command succeeded.
    pub warnings: Vec<String>,
}
