//! The allocation reconciler of the service and batch schedulers (Nomad's
//! `allocReconciler`).
//!
//! For one job it compares what should run (the job's groups and counts) with what does
//! (its allocations, any version, and the nodes they sit on) and decides what to place,
//! stop, update in place or replace, without choosing nodes: that is the placing
//! scheduler's job. Being a pure function of its input — time and IDs are inputs — it
//! gives identical output for identical input, which keeps plans reproducible and testable.
//!
//! A replaced allocation is recognised by its `NextAllocation`, which the state store sets
//! when it commits the replacement; a failed allocation that this reconciliation stops or
//! replaces gets no delayed reschedule (where Nomad gives it one, whose attribute update
//! then lands on top of the stop).
//!
//! Not yet done here (left to the deployment watcher or later work): auto-promotion and
//! auto-revert of deployments, `stop_after_client_disconnect` delayed stops, reconnect
//! strategies other than "keep the original", and node-feasibility checks of in-place
//! updates (see [`update`]).
//!
//! Modules: `group` (the driver and one group's pass), `group_sets` (a group's
//! allocations sorted first), `sets` (the tainted/reschedulable filters and name
//! indexes), `steps` (stop, update, canary, place, migrate), [`reschedule`] (when a failed
//! allocation may be replaced), [`update`] (in-place vs destructive); `proptests`, `tests`
//! and `tests_reschedule`.

mod group;
mod group_sets;
mod lost;
pub mod reschedule;
mod sets;
mod steps;
pub mod update;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_reschedule;

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Allocation, Deployment, Evaluation, Job, Node, RescheduleTracker};

/// Status descriptions Nomad writes on allocations it stops, kept verbatim because users
/// and tooling match on them.
pub mod describe {
    /// Stopped because the job or its count changed.
    pub const NOT_NEEDED: &str = "alloc not needed due to job update";
    /// Stopped to be replaced by a newer version.
    pub const UPDATING: &str = "alloc is being updated due to job update";
    /// Stopped because its node is draining.
    pub const MIGRATING: &str = "alloc is being migrated";
    /// Stopped because its node is down or gone.
    pub const LOST: &str = "alloc is lost since its node is down";
    /// Marked unknown because its node disconnected.
    pub const UNKNOWN: &str = "alloc is unknown since its node is disconnected";
    /// Stopped because it failed and was replaced.
    pub const RESCHEDULED: &str = "alloc was rescheduled because it failed";
    /// Stopped because the original allocation it replaced came back.
    pub const RECONNECTED: &str = "alloc not needed due to disconnected client reconnect";
}

/// Deployment status descriptions, verbatim from Nomad.
pub mod deployment_describe {
    /// A newer job version superseded the deployment.
    pub const NEWER_JOB: &str = "Cancelled due to newer version of job";
    /// The job was stopped.
    pub const STOPPED_JOB: &str = "Cancelled because job is stopped";
    /// Every group is healthy.
    pub const SUCCESSFUL: &str = "Deployment completed successfully";
    /// Created by the scheduler.
    pub const RUNNING: &str = "Deployment is running";
    /// Waiting for canary promotion.
    pub const NEEDS_PROMOTION: &str = "Deployment is running but requires manual promotion";
}

/// Follow-up evaluation triggers beyond the ones in [`crate::model::trigger`].
pub mod followup_trigger {
    /// A disconnected node's allocations timed out (Nomad's `max-disconnect-timeout`).
    pub const MAX_DISCONNECT_TIMEOUT: &str = "max-disconnect-timeout";
}

/// Everything the reconciler looks at for one job. Borrowed, so reconciling a large job
/// copies nothing it does not output.
pub struct ReconcileInput<'a> {
    /// The job as it is now; `None` (purged) or `stop` means every allocation stops.
    pub job: Option<&'a Job>,
    /// Every allocation of the job, of any version and status.
    pub existing: &'a [&'a Allocation],
    /// The job spec an allocation was placed with when `alloc.job` is not embedded
    /// (usually a lookup of the job version history by `alloc.job_version`). `None`
    /// means unknown, which makes any version change a destructive update.
    pub alloc_job: &'a dyn Fn(&Allocation) -> Option<&'a Job>,
    /// What the caller knows of each of `existing` (same order) without reading it,
    /// when it does: lets the one-pass reconciliation skip the allocations at rest.
    pub hints: Option<&'a [AllocHint<'a>]>,
    /// Nodes that are down, draining, disconnected or otherwise not plainly healthy,
    /// by ID. A node absent from this map (and from `missing_nodes`) is healthy.
    pub tainted_nodes: &'a BTreeMap<String, Node>,
    /// Node IDs no longer in the cluster (garbage collected): their allocations are lost.
    pub missing_nodes: &'a BTreeSet<String>,
    /// The job's latest deployment, if any.
    pub deployment: Option<&'a Deployment>,
    /// The evaluation being processed; a follow-up evaluation reschedules its allocations.
    pub eval_id: &'a str,
    /// Priority given to follow-up evaluations and new deployments.
    pub eval_priority: i32,
    /// Current time, unix nanoseconds.
    pub now: i64,
    /// Batch semantics: finished allocations are never re-run, no deployments.
    pub batch: bool,
    /// Generates IDs for follow-up evaluations and deployments; the caller keeps it
    /// deterministic (seeded) so results are reproducible.
    pub next_id: &'a mut dyn FnMut() -> String,
}

/// What the caller knows of one existing allocation without reading it (the state's
/// per-job index keeps it): a pass over a job of hundreds of allocations then reads
/// only those that may need something.
#[derive(Debug, Clone, Copy)]
pub struct AllocHint<'a> {
    /// Running or pending as asked, with no transition, successor, canary flag or
    /// embedded job ([`crate::state::JobAllocRef::at_rest`]).
    pub at_rest: bool,
    /// Its node is present, ready, eligible and not draining: in neither
    /// `tainted_nodes` nor `missing_nodes`.
    pub healthy: bool,
    /// Its job version.
    pub version: u64,
    /// Its task group.
    pub group: &'a str,
}

/// One allocation to place; the placing scheduler picks the node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placement {
    /// Task group to instantiate.
    pub task_group: String,
    /// Allocation name, `job.group[index]`.
    pub name: String,
    /// The `[index]` of the name.
    pub index: u32,
    /// The allocation this one replaces (reschedule, lost, migrate, destructive update),
    /// recorded as `PreviousAllocation` so history and sticky data follow.
    pub previous_alloc: Option<String>,
    /// Replaces a failed allocation under the reschedule policy.
    pub reschedule: bool,
    /// Placed as a canary of the current deployment.
    pub canary: bool,
    /// Replaces an allocation of a down, gone or disconnected node.
    pub lost: bool,
    /// Replaces an allocation moved off a draining node.
    pub migrate: bool,
    /// While canaries are unpromoted, a non-canary replacement must keep the old job
    /// version (Nomad's `downgradeNonCanary`).
    pub downgrade_non_canary: bool,
    /// The job version of the replaced allocation, for `downgrade_non_canary`.
    pub min_job_version: Option<u64>,
    /// Nodes to score down: where the replaced allocation (and its reschedule chain) failed.
    pub penalty_nodes: Vec<String>,
    /// Reschedule history the new allocation starts with (reschedules only).
    pub reschedule_tracker: Option<RescheduleTracker>,
    /// Node to prefer because the group's ephemeral disk is sticky.
    pub preferred_node: Option<String>,
}

/// Stop one allocation and place its successor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestructiveUpdate {
    /// Allocation to stop.
    pub stop_alloc_id: String,
    /// Why it stops ([`describe::UPDATING`]).
    pub stop_description: String,
    /// Its replacement at the new job version.
    pub place: Placement,
}

/// One allocation to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocStopResult {
    /// Allocation ID.
    pub alloc_id: String,
    /// Client status to record as well (`lost`), or `None` to leave it to the client.
    pub client_status: Option<String>,
    /// Desired description, one of [`describe`].
    pub description: String,
}

/// A deployment status change for the plan to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentStatusUpdate {
    /// Deployment ID.
    pub deployment_id: String,
    /// New status, one of [`crate::model::deployment_status`].
    pub status: String,
    /// Why, one of [`deployment_describe`].
    pub status_description: String,
}

/// The per-group counts `nomad job plan` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DesiredUpdates {
    /// Untouched allocations.
    pub ignore: u64,
    /// New placements (including replacements).
    pub place: u64,
    /// Migrations off draining nodes.
    pub migrate: u64,
    /// Stops.
    pub stop: u64,
    /// In-place updates.
    pub in_place_update: u64,
    /// Destructive updates.
    pub destructive_update: u64,
    /// Canaries placed.
    pub canary: u64,
    /// Preemptions (filled by the placing scheduler).
    pub preemptions: u64,
}

/// What the reconciler decided for the job. Vectors are sorted (by name, then ID) so
/// the same input always yields the same output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReconcileResults {
    /// Allocations to place.
    pub place: Vec<Placement>,
    /// Allocations to stop and replace with the new version.
    pub destructive_update: Vec<DestructiveUpdate>,
    /// Allocations updated in place: the record to upsert (new job version, eval and
    /// deployment; the embedded job is left out, as in Nomad's normalized plans).
    pub inplace_update: Vec<Allocation>,
    /// Allocations to stop.
    pub stop: Vec<AllocStopResult>,
    /// Allocation records changed without a new version (follow-up eval IDs), by ID.
    pub attribute_updates: BTreeMap<String, Allocation>,
    /// Allocations of disconnected nodes to mark `unknown`, by ID.
    pub disconnect_updates: BTreeMap<String, Allocation>,
    /// Unknown allocations whose node is back and which are kept, by ID.
    pub reconnect_updates: BTreeMap<String, Allocation>,
    /// Follow-up evaluations to create, by group: delayed reschedules
    /// (`failed-follow-up`) and disconnect timeouts, each with `WaitUntil`.
    pub desired_followup_evals: BTreeMap<String, Vec<Evaluation>>,
    /// A new deployment to create.
    pub deployment: Option<Deployment>,
    /// Status changes of existing deployments.
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// The deployment new placements and in-place updates belong to, if any.
    pub deployment_id: Option<String>,
    /// Per group counts for `nomad job plan`.
    pub desired_tg_updates: BTreeMap<String, DesiredUpdates>,
}

/// Reconciles one job: see the module documentation.
pub fn reconcile(input: ReconcileInput<'_>) -> ReconcileResults {
    // A job at rest but for its lost allocations (node failures) in one pass.
    if let Some(r) = lost::lost_only(&input) {
        return r;
    }
    full(input)
}

/// The full reconciler, every group and step.
fn full(input: ReconcileInput<'_>) -> ReconcileResults {
    group::Reconciler::new(input).run()
}

/// Sorts results so that output never depends on input order.
fn sort_results(r: &mut ReconcileResults) {
    r.place.sort_by(|a, b| {
        (&a.task_group, a.index, &a.name, &a.previous_alloc, a.canary).cmp(&(
            &b.task_group,
            b.index,
            &b.name,
            &b.previous_alloc,
            b.canary,
        ))
    });
    r.destructive_update.sort_by(|a, b| {
        (&a.place.task_group, a.place.index, &a.stop_alloc_id).cmp(&(
            &b.place.task_group,
            b.place.index,
            &b.stop_alloc_id,
        ))
    });
    r.inplace_update
        .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    r.stop.sort_by(|a, b| a.alloc_id.cmp(&b.alloc_id));
    r.stop.dedup_by(|a, b| a.alloc_id == b.alloc_id);
}
