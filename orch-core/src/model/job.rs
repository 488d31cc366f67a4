//! The job: what a user registers. Nomad's JSON shape, with its context-free defaults as
//! `Default` (type service, priority 50, region `global`, namespace `default`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::constraint::{Affinity, Constraint, Spread};
use super::group::{TaskGroup, UpdateStrategy};

/// Job types, as Nomad names them.
pub mod job_type {
    /// Long-running services, rescheduled on failure, updated by deployments.
    pub const SERVICE: &str = "service";
    /// Run-to-completion work.
    pub const BATCH: &str = "batch";
    /// One allocation per eligible node, long-running.
    pub const SYSTEM: &str = "system";
    /// One allocation per eligible node, run to completion.
    pub const SYSBATCH: &str = "sysbatch";
    /// All of them, for validation messages.
    pub const ALL: &[&str] = &[SERVICE, BATCH, SYSTEM, SYSBATCH];
}

/// Job status values, derived from the job's allocations and evaluations.
pub mod job_status {
    /// Registered, nothing placed yet.
    pub const PENDING: &str = "pending";
    /// Allocations placed.
    pub const RUNNING: &str = "running";
    /// Stopped, or every allocation terminal.
    pub const DEAD: &str = "dead";
}

/// A registered job and its bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Job {
    /// Region (default `global`).
    #[serde(rename = "Region")]
    pub region: String,
    /// Namespace (default `default`).
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// Unique ID within the namespace.
    #[serde(rename = "ID")]
    pub id: String,
    /// Display name (defaults to the ID).
    #[serde(rename = "Name")]
    pub name: String,
    /// `service`, `batch`, `system` or `sysbatch`.
    #[serde(rename = "Type")]
    pub job_type: String,
    /// Scheduling priority 1..=100 (default 50).
    #[serde(rename = "Priority")]
    pub priority: i32,
    /// Place all allocations in one plan or none.
    #[serde(rename = "AllAtOnce")]
    pub all_at_once: bool,
    /// Datacenters to run in; globs allowed (default `["*"]`).
    #[serde(rename = "Datacenters")]
    pub datacenters: Vec<String>,
    /// Node pool (default `default`).
    #[serde(rename = "NodePool")]
    pub node_pool: String,
    /// Job-level constraints.
    #[serde(rename = "Constraints")]
    pub constraints: Vec<Constraint>,
    /// Job-level affinities.
    #[serde(rename = "Affinities")]
    pub affinities: Vec<Affinity>,
    /// Task groups.
    #[serde(rename = "TaskGroups")]
    pub task_groups: Vec<TaskGroup>,
    /// Job-level update strategy; merged into every group on registration.
    #[serde(rename = "Update")]
    pub update: Option<UpdateStrategy>,
    /// Job-level spreads.
    #[serde(rename = "Spreads")]
    pub spreads: Vec<Spread>,
    /// Launch on a cron schedule instead of running directly.
    #[serde(rename = "Periodic")]
    pub periodic: Option<PeriodicConfig>,
    /// Run only when dispatched with a payload.
    #[serde(rename = "ParameterizedJob")]
    pub parameterized_job: Option<ParameterizedJobConfig>,
    /// Job metadata.
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
    /// Marked for stopping (deregistered without purge).
    #[serde(rename = "Stop")]
    pub stop: bool,
    /// Parent job of a periodic or dispatched child.
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    /// This job was created by a dispatch.
    #[serde(rename = "Dispatched")]
    pub dispatched: bool,
    /// Dispatch payload, base64 as in Nomad's JSON.
    #[serde(rename = "Payload")]
    pub payload: String,
    /// Token of the dispatch that created this job: a repeated dispatch with the same
    /// token returns this job while it is not dead.
    #[serde(rename = "DispatchIdempotencyToken")]
    pub dispatch_idempotency_token: String,
    /// `pending`, `running` or `dead`.
    #[serde(rename = "Status")]
    pub status: String,
    /// Why the job has its status.
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    /// The version has run healthily through a deployment.
    #[serde(rename = "Stable")]
    pub stable: bool,
    /// Version, bumped whenever the spec changes.
    #[serde(rename = "Version")]
    pub version: u64,
    /// Unix nanoseconds of the registration of this version.
    #[serde(rename = "SubmitTime")]
    pub submit_time: i64,
    /// Raft index that created the job.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of the last change of any kind (status included).
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    /// Raft index of the last change of the spec.
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    /// orch extension: jobs of the namespace this job waits for before any of its
    /// allocations is placed (empty in every Nomad jobspec).
    #[serde(rename = "DependsOn")]
    pub depends_on: Vec<super::workflow::JobDependency>,
}

impl Default for Job {
    fn default() -> Self {
        Job {
            region: "global".into(),
            namespace: "default".into(),
            id: String::new(),
            name: String::new(),
            job_type: job_type::SERVICE.into(),
            priority: 50,
            all_at_once: false,
            datacenters: Vec::new(),
            node_pool: String::new(),
            constraints: Vec::new(),
            affinities: Vec::new(),
            task_groups: Vec::new(),
            update: None,
            spreads: Vec::new(),
            periodic: None,
            parameterized_job: None,
            meta: BTreeMap::new(),
            stop: false,
            parent_id: String::new(),
            dispatched: false,
            payload: String::new(),
            dispatch_idempotency_token: String::new(),
            status: String::new(),
            status_description: String::new(),
            stable: false,
            version: 0,
            submit_time: 0,
            create_index: 0,
            modify_index: 0,
            job_modify_index: 0,
            depends_on: Vec::new(),
        }
    }
}

impl Job {
    /// The key the state store indexes jobs by: namespace, then ID.
    pub fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.id.clone())
    }

    /// Looks a group up by name.
    pub fn group(&self, name: &str) -> Option<&TaskGroup> {
        self.task_groups.iter().find(|g| g.name == name)
    }

    /// Periodic and parameterized jobs are templates: they never get allocations
    /// themselves, only their children do. As in Nomad, a disabled periodic block still
    /// makes a template (`IsPeriodic`), and a dispatched child is not one although it
    /// keeps its parent's parameterized block (`IsParameterized`).
    pub fn is_template(&self) -> bool {
        self.periodic.is_some() || self.is_parameterized()
    }

    /// A parameterized parent (not a dispatched child of one).
    pub fn is_parameterized(&self) -> bool {
        self.parameterized_job.is_some() && !self.dispatched
    }

    /// The periodic dispatcher launches children of this job (Nomad's
    /// `IsPeriodicActive`): periodic and enabled, not stopped, not a parameterized parent.
    pub fn is_periodic_active(&self) -> bool {
        self.periodic.as_ref().is_some_and(|p| p.enabled) && !self.stop && !self.is_parameterized()
    }

    /// Allocation name for a group instance: `job.group[index]`, as Nomad writes it.
    /// Written piece by piece: the reconciler names every missing allocation of a
    /// group in every evaluation, and `format!` cost several times the copies.
    pub fn alloc_name(&self, group: &str, index: u32) -> String {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        let mut v = index;
        loop {
            at -= 1;
            digits[at] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let digits = std::str::from_utf8(&digits[at..]).unwrap_or_default();
        let mut name = String::with_capacity(self.id.len() + group.len() + digits.len() + 3);
        name.push_str(&self.id);
        name.push('.');
        name.push_str(group);
        name.push('[');
        name.push_str(digits);
        name.push(']');
        name
    }
}

#[cfg(test)]
mod alloc_name_tests {
    /// The name written piece by piece is the `format!` it replaced.
    #[test]
    fn alloc_name_matches_format() {
        let job = super::Job {
            id: "web-1".into(),
            ..super::Job::default()
        };
        for i in [0, 1, 9, 10, 99, 100, 12_345, u32::MAX] {
            assert_eq!(job.alloc_name("g", i), format!("web-1.g[{i}]"));
        }
    }
}

/// Cron launch schedule of a periodic job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PeriodicConfig {
    /// Launch children on schedule (default true).
    #[serde(rename = "Enabled")]
    pub enabled: bool,
    /// Cron expression (first of `Specs` when several are given).
    #[serde(rename = "Spec")]
    pub spec: String,
    /// Several cron expressions; a launch happens at the earliest next time of any.
    #[serde(rename = "Specs")]
    pub specs: Vec<String>,
    /// Only `cron`.
    #[serde(rename = "SpecType")]
    pub spec_type: String,
    /// Skip a launch while a previous child still runs.
    #[serde(rename = "ProhibitOverlap")]
    pub prohibit_overlap: bool,
    /// IANA time zone of the schedule (default UTC).
    #[serde(rename = "TimeZone")]
    pub time_zone: String,
}

impl Default for PeriodicConfig {
    fn default() -> Self {
        PeriodicConfig {
            enabled: true,
            spec: String::new(),
            specs: Vec::new(),
            spec_type: "cron".into(),
            prohibit_overlap: false,
            time_zone: "UTC".into(),
        }
    }
}

/// Dispatch contract of a parameterized job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ParameterizedJobConfig {
    /// `optional` (default), `required` or `forbidden`.
    #[serde(rename = "Payload")]
    pub payload: String,
    /// Meta keys a dispatch must set.
    #[serde(rename = "MetaRequired")]
    pub meta_required: Vec<String>,
    /// Meta keys a dispatch may set.
    #[serde(rename = "MetaOptional")]
    pub meta_optional: Vec<String>,
}

impl Default for ParameterizedJobConfig {
    fn default() -> Self {
        ParameterizedJobConfig {
            payload: "optional".into(),
            meta_required: Vec::new(),
            meta_optional: Vec::new(),
        }
    }
}

/// The last launch of a periodic parent, replicated so a new leader continues the
/// schedule where the old one stopped (Nomad's `PeriodicLaunch`). Written with the
/// parent's first registration (its insertion time) and with every child registration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeriodicLaunch {
    /// Namespace of the parent.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// The parent job's ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Unix nanoseconds of the last launch.
    #[serde(rename = "Launch")]
    pub launch: i64,
    /// Raft index that created the record.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of the last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}
