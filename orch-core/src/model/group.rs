//! A task group: the unit of placement (one allocation = one group instance), with its
//! restart, reschedule, update and migrate policies, in Nomad's JSON shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::constraint::{Affinity, Constraint, Spread};
use super::resources::NetworkResource;
use super::service::Service;
use super::task::Task;
use super::wire::{FreeForm, Nanos};

/// A group of tasks placed together on one node, `Count` times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskGroup {
    /// Unique within the job.
    #[serde(rename = "Name")]
    pub name: String,
    /// Number of allocations wanted (default 1; 0 is allowed and means none).
    #[serde(rename = "Count")]
    pub count: u32,
    /// Group-level constraints.
    #[serde(rename = "Constraints")]
    pub constraints: Vec<Constraint>,
    /// Group-level affinities.
    #[serde(rename = "Affinities")]
    pub affinities: Vec<Affinity>,
    /// The tasks.
    #[serde(rename = "Tasks")]
    pub tasks: Vec<Task>,
    /// Group-level spreads (added to the job's).
    #[serde(rename = "Spreads")]
    pub spreads: Vec<Spread>,
    /// Volume requests by name.
    #[serde(rename = "Volumes")]
    pub volumes: BTreeMap<String, VolumeRequest>,
    /// Restart policy for tasks that do not set their own (default per job type).
    #[serde(rename = "RestartPolicy")]
    pub restart_policy: Option<RestartPolicy>,
    /// Reschedule policy (default per job type; absent for system jobs).
    #[serde(rename = "ReschedulePolicy")]
    pub reschedule_policy: Option<ReschedulePolicy>,
    /// Scratch disk shared by the group's tasks.
    #[serde(rename = "EphemeralDisk")]
    pub ephemeral_disk: EphemeralDisk,
    /// Rolling update strategy, merged from the job's.
    #[serde(rename = "Update")]
    pub update: Option<UpdateStrategy>,
    /// Strategy for moving allocations off draining nodes (service jobs).
    #[serde(rename = "Migrate")]
    pub migrate: Option<MigrateStrategy>,
    /// Networks and ports.
    #[serde(rename = "Networks")]
    pub networks: Vec<NetworkResource>,
    /// Metadata, merged over the job's.
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
    /// Group services.
    #[serde(rename = "Services")]
    pub services: Vec<Service>,
    /// Delay between deregistering services and stopping tasks.
    #[serde(rename = "ShutdownDelay")]
    pub shutdown_delay: Option<Nanos>,
    /// Stop the allocation after its node has been disconnected this long.
    #[serde(rename = "StopAfterClientDisconnect")]
    pub stop_after_client_disconnect: Option<Nanos>,
    /// Keep allocations of a disconnected node as `unknown` for this long.
    #[serde(rename = "MaxClientDisconnect")]
    pub max_client_disconnect: Option<Nanos>,
    /// Horizontal scaling bounds and autoscaler policy.
    #[serde(rename = "Scaling")]
    pub scaling: Option<ScalingPolicy>,
    /// Behaviour when the node loses contact (replaces `MaxClientDisconnect`).
    #[serde(rename = "Disconnect")]
    pub disconnect: Option<DisconnectStrategy>,
    /// Do not replace allocations of a down node; wait for it.
    #[serde(rename = "PreventRescheduleOnLost")]
    pub prevent_reschedule_on_lost: bool,
    /// orch extension: how a rescheduled allocation of this group starts. Empty (Nomad's
    /// behaviour) reruns every task; [`RESUME_FROM_FAILURE`] keeps the tasks that
    /// succeeded in the previous allocation and reruns only the others.
    #[serde(rename = "Resume")]
    pub resume: String,
    /// orch extension: jobs of the namespace this group waits for before its
    /// allocations are placed, beside the job's own `depends_on`.
    #[serde(rename = "DependsOn")]
    pub depends_on: Vec<super::workflow::JobDependency>,
}

/// `resume = "from_failure"`: a replacement allocation reruns only what did not succeed.
pub const RESUME_FROM_FAILURE: &str = "from_failure";

impl Default for TaskGroup {
    fn default() -> Self {
        TaskGroup {
            name: String::new(),
            count: 1,
            constraints: Vec::new(),
            affinities: Vec::new(),
            tasks: Vec::new(),
            spreads: Vec::new(),
            volumes: BTreeMap::new(),
            restart_policy: None,
            reschedule_policy: None,
            ephemeral_disk: EphemeralDisk::default(),
            update: None,
            migrate: None,
            networks: Vec::new(),
            meta: BTreeMap::new(),
            services: Vec::new(),
            shutdown_delay: None,
            stop_after_client_disconnect: None,
            max_client_disconnect: None,
            scaling: None,
            disconnect: None,
            prevent_reschedule_on_lost: false,
            resume: String::new(),
            depends_on: Vec::new(),
        }
    }
}

/// How the client restarts a failed task in place.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartPolicy {
    /// Restarts allowed per interval.
    #[serde(rename = "Attempts")]
    pub attempts: u32,
    /// Window in which attempts are counted.
    #[serde(rename = "Interval")]
    pub interval: Nanos,
    /// Wait before each restart.
    #[serde(rename = "Delay")]
    pub delay: Nanos,
    /// `fail` (give up, let the scheduler reschedule) or `delay` (wait out the interval).
    #[serde(rename = "Mode")]
    pub mode: String,
    /// Re-render templates on restart.
    #[serde(rename = "RenderTemplates")]
    pub render_templates: bool,
}

/// How the scheduler replaces a failed allocation on another node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReschedulePolicy {
    /// Reschedules allowed per interval (ignored when unlimited).
    #[serde(rename = "Attempts")]
    pub attempts: u32,
    /// Window in which attempts are counted.
    #[serde(rename = "Interval")]
    pub interval: Nanos,
    /// Base delay before a reschedule.
    #[serde(rename = "Delay")]
    pub delay: Nanos,
    /// `constant`, `exponential` or `fibonacci`.
    #[serde(rename = "DelayFunction")]
    pub delay_function: String,
    /// Ceiling of the growing delay.
    #[serde(rename = "MaxDelay")]
    pub max_delay: Nanos,
    /// Reschedule forever.
    #[serde(rename = "Unlimited")]
    pub unlimited: bool,
}

/// Scratch disk of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EphemeralDisk {
    /// Prefer the same node on update, keeping the data.
    #[serde(rename = "Sticky")]
    pub sticky: bool,
    /// Copy the data when the allocation moves.
    #[serde(rename = "Migrate")]
    pub migrate: bool,
    /// Size in MB (default 300).
    #[serde(rename = "SizeMB")]
    pub size_mb: u64,
}

impl Default for EphemeralDisk {
    fn default() -> Self {
        EphemeralDisk {
            sticky: false,
            migrate: false,
            size_mb: 300,
        }
    }
}

/// A volume the group asks for: a host volume or a CSI volume.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeRequest {
    /// The request's name (the block label).
    #[serde(rename = "Name")]
    pub name: String,
    /// `host` or `csi`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Host volume name or CSI volume ID.
    #[serde(rename = "Source")]
    pub source: String,
    /// Mount read-only.
    #[serde(rename = "ReadOnly")]
    pub read_only: bool,
    /// CSI access mode.
    #[serde(rename = "AccessMode")]
    pub access_mode: String,
    /// CSI attachment mode.
    #[serde(rename = "AttachmentMode")]
    pub attachment_mode: String,
    /// Append `[index]` to the source per allocation.
    #[serde(rename = "PerAlloc")]
    pub per_alloc: bool,
    /// CSI mount options.
    #[serde(rename = "MountOptions")]
    pub mount_options: Option<CsiMountOptions>,
}

/// File system options of a CSI volume mount.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CsiMountOptions {
    /// File system type, e.g. `ext4`.
    #[serde(rename = "FSType")]
    pub fs_type: String,
    /// Mount flags, e.g. `noatime`.
    #[serde(rename = "MountFlags")]
    pub mount_flags: Vec<String>,
}

impl TaskGroup {
    /// How long this group's allocations may stay `unknown` on a node that lost contact
    /// (`disconnect.lost_after`, else the deprecated `max_client_disconnect`); 0 when
    /// they are lost at once. The scheduler and the leader's heartbeat expiry agree on
    /// it through this one place.
    pub fn disconnect_lost_after(&self) -> i64 {
        match &self.disconnect {
            Some(d) if d.lost_after > 0 => d.lost_after,
            _ => self.max_client_disconnect.unwrap_or(0),
        }
    }
}

/// What happens to allocations of a node that loses contact (Nomad 1.8's `disconnect`
/// block, successor of `max_client_disconnect`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DisconnectStrategy {
    /// How long allocations stay `unknown` before they count as lost (0: at once).
    #[serde(rename = "LostAfter")]
    pub lost_after: Nanos,
    /// Place replacements while the node is disconnected (default true).
    #[serde(rename = "Replace")]
    pub replace: Option<bool>,
    /// Which allocation wins on reconnect: `best_score`, `keep_original`,
    /// `keep_replacement` or `longest_running`.
    #[serde(rename = "Reconcile")]
    pub reconcile: String,
    /// Stop the allocation on the client after this long without contact.
    #[serde(rename = "StopOnClientAfter")]
    pub stop_on_client_after: Option<Nanos>,
}

/// Rolling update strategy for a group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateStrategy {
    /// Deprecated delay between updates (pre-deployment style).
    #[serde(rename = "Stagger")]
    pub stagger: Nanos,
    /// Allocations updated at once; 0 disables deployments for the group.
    #[serde(rename = "MaxParallel")]
    pub max_parallel: u32,
    /// `checks`, `task_states` or `manual`.
    #[serde(rename = "HealthCheck")]
    pub health_check: String,
    /// How long an allocation must be healthy to count.
    #[serde(rename = "MinHealthyTime")]
    pub min_healthy_time: Nanos,
    /// Deadline for an allocation to become healthy.
    #[serde(rename = "HealthyDeadline")]
    pub healthy_deadline: Nanos,
    /// Deadline for the deployment to make progress.
    #[serde(rename = "ProgressDeadline")]
    pub progress_deadline: Nanos,
    /// Canaries placed before the rolling update.
    #[serde(rename = "Canary")]
    pub canary: u32,
    /// Revert to the last stable version on failure.
    #[serde(rename = "AutoRevert")]
    pub auto_revert: bool,
    /// Promote canaries automatically once healthy.
    #[serde(rename = "AutoPromote")]
    pub auto_promote: bool,
    /// orch extension: allocation index *i* is placed only once index *i−1* is
    /// healthy, updates go in index order, and a stopped job stops its highest index
    /// first (what a Kubernetes StatefulSet guarantees).
    #[serde(rename = "Ordered")]
    pub ordered: bool,
    /// orch extension: the next batch (and canary auto-promotion) waits until a metric
    /// query met a condition for a while (`core::workflow::gate`). In the API JSON
    /// only: the stored layout carries none (`model::gate::human_only`), the servers
    /// keep it in a side table.
    #[serde(rename = "Gate", with = "super::gate::human_only")]
    pub gate: Option<super::gate::UpdateGate>,
}

/// How allocations move off a draining node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MigrateStrategy {
    /// Allocations migrated at once.
    #[serde(rename = "MaxParallel")]
    pub max_parallel: u32,
    /// `checks` or `task_states`.
    #[serde(rename = "HealthCheck")]
    pub health_check: String,
    /// How long a replacement must be healthy.
    #[serde(rename = "MinHealthyTime")]
    pub min_healthy_time: Nanos,
    /// Deadline for a replacement to become healthy.
    #[serde(rename = "HealthyDeadline")]
    pub healthy_deadline: Nanos,
}

/// Scaling bounds of a group and the autoscaler policy that moves within them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalingPolicy {
    /// Policy ID, assigned on registration.
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace of the job.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// What is scaled: `Namespace`, `Job`, `Group` keys.
    #[serde(rename = "Target")]
    pub target: BTreeMap<String, String>,
    /// Lower bound of `Count` (default: the group's count).
    #[serde(rename = "Min")]
    pub min: Option<i64>,
    /// Upper bound of `Count`; required.
    #[serde(rename = "Max")]
    pub max: Option<i64>,
    /// Autoscaler policy, free-form.
    #[serde(rename = "Policy")]
    pub policy: FreeForm,
    /// Whether the autoscaler acts on it (default true).
    #[serde(rename = "Enabled", default = "super::wire::default_true")]
    pub enabled: bool,
    /// `horizontal` for group counts.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Raft index of creation.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}
