//! Service registrations and their health checks, in Nomad's JSON shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::wire::Nanos;

/// A service a group or task registers (provider `nomad` or `consul`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    /// Service name; may interpolate `${NOMAD_JOB_NAME}` and friends.
    #[serde(rename = "Name")]
    pub name: String,
    /// Tags registered with the service.
    #[serde(rename = "Tags")]
    pub tags: Vec<String>,
    /// Tags used instead while the allocation is a canary.
    #[serde(rename = "CanaryTags")]
    pub canary_tags: Vec<String>,
    /// Consul's enable_tag_override.
    #[serde(rename = "EnableTagOverride")]
    pub enable_tag_override: bool,
    /// Port label (or number) to advertise.
    #[serde(rename = "PortLabel")]
    pub port_label: String,
    /// `auto`, `host`, `driver` or `alloc`.
    #[serde(rename = "AddressMode")]
    pub address_mode: String,
    /// Explicit address to advertise.
    #[serde(rename = "Address")]
    pub address: String,
    /// Health checks.
    #[serde(rename = "Checks")]
    pub checks: Vec<ServiceCheck>,
    /// Restart the task when checks fail (applies to every check without its own).
    #[serde(rename = "CheckRestart")]
    pub check_restart: Option<CheckRestart>,
    /// Service metadata.
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
    /// Metadata used while the allocation is a canary.
    #[serde(rename = "CanaryMeta")]
    pub canary_meta: BTreeMap<String, String>,
    /// Extra tagged addresses.
    #[serde(rename = "TaggedAddresses")]
    pub tagged_addresses: BTreeMap<String, String>,
    /// Task that owns a group service's checks (script checks).
    #[serde(rename = "TaskName")]
    pub task_name: String,
    /// `require_healthy` (default), `ignore_warnings` or `ignore`.
    #[serde(rename = "OnUpdate")]
    pub on_update: String,
    /// `nomad` (built-in catalog) or `consul`.
    #[serde(rename = "Provider")]
    pub provider: String,
}

/// One health check of a service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceCheck {
    /// Check name (default derived from the service).
    #[serde(rename = "Name")]
    pub name: String,
    /// `http`, `tcp`, `script` or `grpc`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Command of a script check.
    #[serde(rename = "Command")]
    pub command: String,
    /// Arguments of a script check.
    #[serde(rename = "Args")]
    pub args: Vec<String>,
    /// HTTP path.
    #[serde(rename = "Path")]
    pub path: String,
    /// `http` or `https`.
    #[serde(rename = "Protocol")]
    pub protocol: String,
    /// Port label to check, if not the service's.
    #[serde(rename = "PortLabel")]
    pub port_label: String,
    /// Address mode for the check.
    #[serde(rename = "AddressMode")]
    pub address_mode: String,
    /// Time between checks.
    #[serde(rename = "Interval")]
    pub interval: Nanos,
    /// Time before a check counts as failed.
    #[serde(rename = "Timeout")]
    pub timeout: Nanos,
    /// Restart behaviour on failure.
    #[serde(rename = "CheckRestart")]
    pub check_restart: Option<CheckRestart>,
    /// gRPC service name.
    #[serde(rename = "GRPCService")]
    pub grpc_service: String,
    /// Use TLS for gRPC.
    #[serde(rename = "GRPCUseTLS")]
    pub grpc_use_tls: bool,
    /// TLS server name for https/grpc checks.
    #[serde(rename = "TLSServerName")]
    pub tls_server_name: String,
    /// Skip TLS verification.
    #[serde(rename = "TLSSkipVerify")]
    pub tls_skip_verify: bool,
    /// HTTP headers.
    #[serde(rename = "Header")]
    pub header: BTreeMap<String, Vec<String>>,
    /// HTTP method.
    #[serde(rename = "Method")]
    pub method: String,
    /// HTTP body.
    #[serde(rename = "Body")]
    pub body: String,
    /// Status before the first check runs.
    #[serde(rename = "InitialStatus")]
    pub initial_status: String,
    /// Consecutive successes before passing.
    #[serde(rename = "SuccessBeforePassing")]
    pub success_before_passing: u32,
    /// Consecutive failures before critical.
    #[serde(rename = "FailuresBeforeCritical")]
    pub failures_before_critical: u32,
    /// Consecutive failures before warning.
    #[serde(rename = "FailuresBeforeWarning")]
    pub failures_before_warning: u32,
    /// Task that runs a group service's script check.
    #[serde(rename = "TaskName")]
    pub task_name: String,
    /// How a failing check affects deployments.
    #[serde(rename = "OnUpdate")]
    pub on_update: String,
}

/// Restart a task after its checks have failed `Limit` times in a row.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckRestart {
    /// Consecutive failures before a restart (0: never).
    #[serde(rename = "Limit")]
    pub limit: u32,
    /// Grace period after start before failures count.
    #[serde(rename = "Grace")]
    pub grace: Nanos,
    /// Treat warnings as passing.
    #[serde(rename = "IgnoreWarnings")]
    pub ignore_warnings: bool,
}

/// One instance of a service in orch's own catalog (`provider = "nomad"`), as Nomad's
/// `/v1/service/:name` lists it: where an allocation's service answers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceRegistration {
    /// `_nomad-task-<alloc>-<group|task>-<service>-<port label>`, Nomad's format, so it
    /// is stable across re-registrations of the same allocation.
    #[serde(rename = "ID")]
    pub id: String,
    /// Service name.
    #[serde(rename = "ServiceName")]
    pub service_name: String,
    /// Namespace of the job.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// Node running the allocation.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// The node's datacenter.
    #[serde(rename = "Datacenter")]
    pub datacenter: String,
    /// Job.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Allocation.
    #[serde(rename = "AllocID")]
    pub alloc_id: String,
    /// Tags.
    #[serde(rename = "Tags")]
    pub tags: Vec<String>,
    /// IP address.
    #[serde(rename = "Address")]
    pub address: String,
    /// Port (0 when the service names no port).
    #[serde(rename = "Port")]
    pub port: u16,
    /// Raft index of creation.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of the last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}
