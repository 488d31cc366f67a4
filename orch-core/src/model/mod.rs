//! The cluster's data model in Nomad's JSON shape: what users submit (jobs) and what the
//! servers track (nodes, allocations, evaluations, deployments).
//!
//! Every type deserializes Nomad's JSON unchanged (PascalCase, `ID`, durations in
//! nanoseconds) and fills absent fields with Nomad's context-free defaults through
//! `Default`. Defaults that depend on context (restart policy per job type, the job's
//! update strategy merged into groups) are the job of [`crate::canonical`].
//!
//! Only `BTreeMap` appears here, so iteration order (and so every decision and every
//! snapshot byte) is deterministic.
//!
//! What users submit: [`job`] (the job), [`group`] (task groups and their policies),
//! [`task`] (tasks), [`identity`] (the workload identities tasks ask for), [`resources`] (what a task asks for: resources, devices, networks,
//! ports), [`constraint`] (constraints, affinities, spreads), [`service`] (services and
//! checks). What the servers track: [`node`] (client nodes), [`node_pool`] (node pools), [`alloc`] (allocations),
//! [`eval`] (evaluations), [`deployment`] (deployments), [`scaling`] (scaling events),
//! [`scheduler_config`] (the cluster's scheduler configuration), [`autopilot_config`]
//! (the cluster's autopilot configuration).
//! Shared: [`usage`] (comparable resource amounts, so fitting is a subtraction) and
//! [`wire`] (serde helpers that keep Nomad's JSON shape and survive postcard).

pub mod acl;
pub mod alloc;
pub mod autopilot_config;
pub mod constraint;
pub mod csi;
pub mod deployment;
pub mod device_share;
pub mod eval;
pub mod gate;
pub mod group;
pub mod identity;
pub mod job;
pub mod job_submission;
pub mod namespace;
pub mod node;
pub mod node_pool;
pub mod release;
pub mod resources;
pub mod scaling;
pub mod scheduler_config;
pub mod service;
pub mod shared_str;
pub mod small_map;
pub mod task;
pub mod usage;
pub mod variable;
pub mod wire;
pub mod workflow;

pub use alloc::*;
pub use autopilot_config::AutopilotConfiguration;
pub use constraint::*;
pub use deployment::*;
pub use device_share::{DeviceShare, WHOLE_SHARE};
pub use eval::*;
pub use gate::UpdateGate;
pub use group::*;
pub use identity::{
    DEFAULT_IDENTITY, DEFAULT_IDENTITY_AUDIENCE, WorkloadIdentity, identity_change_mode,
};
pub use job::*;
pub use job_submission::JobSubmission;
pub use namespace::{
    DEFAULT_NAMESPACE, Namespace, NamespaceCapabilities, QuotaLimit, QuotaResources, QuotaSpec,
    QuotaUsage,
};
pub use node::*;
pub use node_pool::{NODE_POOL_ALL, NODE_POOL_DEFAULT, NodePool, NodePoolSchedulerConfiguration};
pub use release::{Release, ReleaseJob, release_status};
pub use resources::*;
pub use scaling::{ScalingEvent, TRACKED_SCALING_EVENTS};
pub use scheduler_config::{PreemptionSettings, SchedulerAlgorithm, SchedulerConfiguration};
pub use service::*;
pub use shared_str::Str;
pub use small_map::SmallMap;
pub use task::*;
pub use usage::{Usage, dimension};
pub use wire::{FreeForm, Nanos, Timestamp};
pub use workflow::{JobDependency, job_condition};
