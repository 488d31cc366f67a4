//! An allocation: one instance of a task group placed on one node, and everything the
//! servers and the client record about it. Nomad's JSON shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Str;
use super::eval::AllocationMetric;
use super::job::Job;
use super::resources::NetworkResource;
use super::wire::{Nanos, Timestamp};

/// What the servers want an allocation to do.
pub mod desired_status {
    /// Keep it running.
    pub const RUN: &str = "run";
    /// Stop it.
    pub const STOP: &str = "stop";
    /// Stopped to make room or because the job moved on; no replacement implied.
    pub const EVICT: &str = "evict";
}

/// What the client reports an allocation is doing.
pub mod client_status {
    /// Not all tasks started yet.
    pub const PENDING: &str = "pending";
    /// Running.
    pub const RUNNING: &str = "running";
    /// Every task finished successfully.
    pub const COMPLETE: &str = "complete";
    /// A task failed beyond its restart policy.
    pub const FAILED: &str = "failed";
    /// Its node went down.
    pub const LOST: &str = "lost";
    /// Its node is disconnected; the allocation may come back.
    pub const UNKNOWN: &str = "unknown";
    /// All values, for validation.
    pub const ALL: &[&str] = &[PENDING, RUNNING, COMPLETE, FAILED, LOST, UNKNOWN];
}

/// One placed instance of a task group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Allocation {
    /// Allocation UUID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace of the job.
    #[serde(rename = "Namespace")]
    pub namespace: Str,
    /// Evaluation that placed it.
    #[serde(rename = "EvalID")]
    pub eval_id: Str,
    /// `job.group[index]`.
    #[serde(rename = "Name")]
    pub name: String,
    /// Node it runs on.
    #[serde(rename = "NodeID")]
    pub node_id: Str,
    /// Name of that node.
    #[serde(rename = "NodeName")]
    pub node_name: Str,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: Str,
    /// The job version it was placed for; the state store fills it on reads.
    #[serde(rename = "Job")]
    pub job: Option<Box<Job>>,
    /// Task group name.
    #[serde(rename = "TaskGroup")]
    pub task_group: Str,
    /// Resources reserved on the node.
    #[serde(rename = "AllocatedResources")]
    pub allocated_resources: AllocatedResources,
    /// Scheduler metrics from its placement.
    #[serde(rename = "Metrics")]
    pub metrics: Option<AllocationMetric>,
    /// `run`, `stop` or `evict`.
    #[serde(rename = "DesiredStatus")]
    pub desired_status: Str,
    /// Why.
    #[serde(rename = "DesiredDescription")]
    pub desired_description: String,
    /// Requests for the scheduler (migrate, reschedule) set by drains and users.
    #[serde(rename = "DesiredTransition")]
    pub desired_transition: DesiredTransition,
    /// `pending`, `running`, `complete`, `failed`, `lost` or `unknown`.
    #[serde(rename = "ClientStatus")]
    pub client_status: Str,
    /// Why.
    #[serde(rename = "ClientDescription")]
    pub client_description: String,
    /// Per task.
    #[serde(rename = "TaskStates")]
    pub task_states: BTreeMap<String, TaskState>,
    /// Deployment it belongs to.
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// Health as seen by that deployment.
    #[serde(rename = "DeploymentStatus")]
    pub deployment_status: Option<AllocDeploymentStatus>,
    /// Evaluation that will reschedule it later.
    #[serde(rename = "FollowupEvalID")]
    pub followup_eval_id: String,
    /// Allocation it replaces.
    #[serde(rename = "PreviousAllocation")]
    pub previous_allocation: String,
    /// Allocation that replaced it.
    #[serde(rename = "NextAllocation")]
    pub next_allocation: String,
    /// Reschedules so far in this chain.
    #[serde(rename = "RescheduleTracker")]
    pub reschedule_tracker: Option<RescheduleTracker>,
    /// Allocations this one preempted.
    #[serde(rename = "PreemptedAllocations")]
    pub preempted_allocations: Vec<String>,
    /// Allocation that preempted this one.
    #[serde(rename = "PreemptedByAllocation")]
    pub preempted_by_allocation: String,
    /// Raft index of creation.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of the last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    /// Raft index of the last server-side change (not client updates).
    #[serde(rename = "AllocModifyIndex")]
    pub alloc_modify_index: u64,
    /// Unix nanos of creation.
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Unix nanos of the last change.
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
    /// Version of the job it runs.
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
}

impl Allocation {
    /// Stopped or evicted by the servers.
    pub fn server_terminal(&self) -> bool {
        self.desired_status == desired_status::STOP || self.desired_status == desired_status::EVICT
    }

    /// Finished on the client: complete, failed or lost.
    pub fn client_terminal(&self) -> bool {
        matches!(
            self.client_status.as_str(),
            client_status::COMPLETE | client_status::FAILED | client_status::LOST
        )
    }

    /// Terminal either way; a terminal allocation holds no resources.
    pub fn terminal(&self) -> bool {
        self.server_terminal() || self.client_terminal()
    }

    /// The group index parsed back out of `job.group[index]`.
    pub fn index(&self) -> Option<u32> {
        let open = self.name.rfind('[')?;
        self.name
            .get(open + 1..self.name.len().checked_sub(1)?)?
            .parse()
            .ok()
    }
}

/// Resources actually reserved for an allocation on its node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocatedResources {
    /// Per task.
    #[serde(rename = "Tasks")]
    pub tasks: super::SmallMap<String, AllocatedTaskResources>,
    /// Lifecycle of each task, so the client knows what runs when.
    #[serde(rename = "TaskLifecycles")]
    pub task_lifecycles: super::SmallMap<String, Option<super::task::TaskLifecycle>>,
    /// Shared by the whole allocation.
    #[serde(rename = "Shared")]
    pub shared: AllocatedSharedResources,
}

/// Resources of one task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocatedTaskResources {
    /// CPU.
    #[serde(rename = "Cpu")]
    pub cpu: AllocatedCpuResources,
    /// Memory.
    #[serde(rename = "Memory")]
    pub memory: AllocatedMemoryResources,
    /// Task-level networks (deprecated form).
    #[serde(rename = "Networks")]
    pub networks: Vec<NetworkResource>,
    /// Devices assigned.
    #[serde(rename = "Devices")]
    pub devices: Vec<AllocatedDeviceResource>,
}

/// CPU of one task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocatedCpuResources {
    /// MHz.
    #[serde(rename = "CpuShares")]
    pub cpu_shares: u64,
    /// Core IDs reserved exclusively.
    #[serde(rename = "ReservedCores")]
    pub reserved_cores: Vec<u32>,
}

/// Memory of one task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocatedMemoryResources {
    /// Reserved MB.
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u64,
    /// Limit MB (0: same as reserved).
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: u64,
}

/// Device instances assigned to a task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocatedDeviceResource {
    /// Vendor.
    #[serde(rename = "Vendor")]
    pub vendor: String,
    /// Type.
    #[serde(rename = "Type")]
    pub device_type: String,
    /// Model.
    #[serde(rename = "Name")]
    pub name: String,
    /// Instance IDs.
    #[serde(rename = "DeviceIDs")]
    pub device_ids: Vec<String>,
    /// orch's sharing: the part of the one instance in `DeviceIDs` this task holds;
    /// `None` holds every instance listed whole (Nomad's form).
    #[serde(rename = "Share")]
    pub share: Option<super::DeviceShare>,
}

/// Resources shared by all tasks of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocatedSharedResources {
    /// Group networks with their assigned ports.
    #[serde(rename = "Networks")]
    pub networks: Vec<NetworkResource>,
    /// Ephemeral disk MB.
    #[serde(rename = "DiskMB")]
    pub disk_mb: u64,
    /// Flat list of assigned ports.
    #[serde(rename = "Ports")]
    pub ports: Vec<AllocatedPortMapping>,
}

/// One assigned port.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocatedPortMapping {
    /// Port label.
    #[serde(rename = "Label")]
    pub label: String,
    /// Host port.
    #[serde(rename = "Value")]
    pub value: u16,
    /// Port inside the task.
    #[serde(rename = "To")]
    pub to: i32,
    /// Host IP it binds.
    #[serde(rename = "HostIP")]
    pub host_ip: String,
}

/// Flags asking the scheduler to act on a running allocation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DesiredTransition {
    /// Move it off its node (drain).
    #[serde(rename = "Migrate")]
    pub migrate: Option<bool>,
    /// Reschedule it although it has not failed.
    #[serde(rename = "Reschedule")]
    pub reschedule: Option<bool>,
    /// Reschedule it now, ignoring the policy's delay.
    #[serde(rename = "ForceReschedule")]
    pub force_reschedule: Option<bool>,
    /// Skip the shutdown delay when stopping it.
    #[serde(rename = "NoShutdownDelay")]
    pub no_shutdown_delay: Option<bool>,
}

/// State of one task in an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskState {
    /// `pending`, `running` or `dead`.
    #[serde(rename = "State")]
    pub state: String,
    /// Dead because it failed.
    #[serde(rename = "Failed")]
    pub failed: bool,
    /// Restarts so far.
    #[serde(rename = "Restarts")]
    pub restarts: u64,
    /// Time of the last restart.
    #[serde(rename = "LastRestart")]
    pub last_restart: Timestamp,
    /// Time it first started.
    #[serde(rename = "StartedAt")]
    pub started_at: Timestamp,
    /// Time it finished.
    #[serde(rename = "FinishedAt")]
    pub finished_at: Timestamp,
    /// What happened, oldest first (capped by the client).
    #[serde(rename = "Events")]
    pub events: Vec<TaskEvent>,
}

/// Something that happened to a task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskEvent {
    /// `Received`, `Task Setup`, `Started`, `Terminated`, `Restarting`, `Killed`, ...
    #[serde(rename = "Type")]
    pub event_type: String,
    /// Unix nanos.
    #[serde(rename = "Time")]
    pub time: i64,
    /// Human text.
    #[serde(rename = "DisplayMessage")]
    pub display_message: String,
    /// Structured details.
    #[serde(rename = "Details")]
    pub details: BTreeMap<String, String>,
    /// Exit code, for `Terminated`.
    #[serde(rename = "ExitCode")]
    pub exit_code: i64,
    /// Signal, for `Terminated`.
    #[serde(rename = "Signal")]
    pub signal: i64,
    /// Driver or setup error text.
    #[serde(rename = "Message")]
    pub message: String,
    /// The task failed because of this event.
    #[serde(rename = "FailsTask")]
    pub fails_task: bool,
    /// Wait before the next restart, for `Restarting`.
    #[serde(rename = "StartDelay")]
    pub start_delay: Nanos,
}

/// Health of an allocation within its deployment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocDeploymentStatus {
    /// `None` until decided.
    #[serde(rename = "Healthy")]
    pub healthy: Option<bool>,
    /// When health was decided.
    #[serde(rename = "Timestamp")]
    pub timestamp: Timestamp,
    /// Placed as a canary.
    #[serde(rename = "Canary")]
    pub canary: bool,
    /// Raft index of the last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// Reschedule history of an allocation chain.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RescheduleTracker {
    /// Oldest first.
    #[serde(rename = "Events")]
    pub events: Vec<RescheduleEvent>,
}

/// One reschedule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RescheduleEvent {
    /// Unix nanos.
    #[serde(rename = "RescheduleTime")]
    pub reschedule_time: i64,
    /// Allocation replaced.
    #[serde(rename = "PrevAllocID")]
    pub prev_alloc_id: String,
    /// Node it was on.
    #[serde(rename = "PrevNodeID")]
    pub prev_node_id: String,
    /// Delay applied.
    #[serde(rename = "Delay")]
    pub delay: Nanos,
}
