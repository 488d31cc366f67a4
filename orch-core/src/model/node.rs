//! A client node as the servers see it: where it is, what it has, what it can run, and
//! whether the scheduler may use it. Nomad's JSON shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::resources::NetworkResource;
use super::wire::{Nanos, Timestamp};

/// Node status values.
pub mod node_status {
    /// Registered, not yet heartbeating.
    pub const INITIALIZING: &str = "initializing";
    /// Heartbeating.
    pub const READY: &str = "ready";
    /// Missed its heartbeat deadline; its allocations are lost.
    pub const DOWN: &str = "down";
    /// Lost contact but within `max_client_disconnect`.
    pub const DISCONNECTED: &str = "disconnected";
    /// All values, for validation.
    pub const ALL: &[&str] = &[INITIALIZING, READY, DOWN, DISCONNECTED];
}

/// Scheduling eligibility values.
pub mod eligibility {
    /// New allocations may be placed.
    pub const ELIGIBLE: &str = "eligible";
    /// No new allocations (existing ones keep running).
    pub const INELIGIBLE: &str = "ineligible";
}

/// A client node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Node {
    /// Node UUID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Secret the node authenticates with; never shown by the API.
    #[serde(rename = "SecretID")]
    pub secret_id: String,
    /// Datacenter (default `dc1`).
    #[serde(rename = "Datacenter")]
    pub datacenter: String,
    /// Human name, usually the hostname.
    #[serde(rename = "Name")]
    pub name: String,
    /// Address of the client's HTTP API (logs, exec).
    #[serde(rename = "HTTPAddr")]
    pub http_addr: String,
    /// Whether that API uses TLS.
    #[serde(rename = "TLSEnabled")]
    pub tls_enabled: bool,
    /// Fingerprinted attributes (`kernel.name`, `cpu.arch`, `driver.exec`, ...).
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
    /// What the node has.
    #[serde(rename = "NodeResources")]
    pub node_resources: NodeResources,
    /// What is held back for the OS and the agent.
    #[serde(rename = "ReservedResources")]
    pub reserved_resources: NodeReservedResources,
    /// Links to other systems (`consul`, `aws.ec2`).
    #[serde(rename = "Links")]
    pub links: BTreeMap<String, String>,
    /// Operator-set metadata.
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
    /// Operator-set class.
    #[serde(rename = "NodeClass")]
    pub node_class: String,
    /// Node pool (default `default`).
    #[serde(rename = "NodePool")]
    pub node_pool: String,
    /// Deprecated flag mirroring `DrainStrategy.is_some()`.
    #[serde(rename = "Drain")]
    pub drain: bool,
    /// Set while the node drains.
    #[serde(rename = "DrainStrategy")]
    pub drain_strategy: Option<DrainStrategy>,
    /// `eligible` or `ineligible`.
    #[serde(rename = "SchedulingEligibility")]
    pub scheduling_eligibility: String,
    /// `initializing`, `ready`, `down` or `disconnected`.
    #[serde(rename = "Status")]
    pub status: String,
    /// Why the node has its status.
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    /// Unix seconds of the last status change.
    #[serde(rename = "StatusUpdatedAt")]
    pub status_updated_at: i64,
    /// Recent node events.
    #[serde(rename = "Events")]
    pub events: Vec<NodeEvent>,
    /// Task drivers by name.
    #[serde(rename = "Drivers")]
    pub drivers: BTreeMap<String, DriverInfo>,
    /// Host volumes by name.
    #[serde(rename = "HostVolumes")]
    pub host_volumes: BTreeMap<String, ClientHostVolumeConfig>,
    /// Hash of the scheduling-relevant fields; nodes with equal classes are
    /// interchangeable for feasibility, so the scheduler caches per class.
    #[serde(rename = "ComputedClass")]
    pub computed_class: String,
    /// Raft index of creation.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of the last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl Default for Node {
    fn default() -> Self {
        Node {
            id: String::new(),
            secret_id: String::new(),
            datacenter: "dc1".into(),
            name: String::new(),
            http_addr: String::new(),
            tls_enabled: false,
            attributes: BTreeMap::new(),
            node_resources: NodeResources::default(),
            reserved_resources: NodeReservedResources::default(),
            links: BTreeMap::new(),
            meta: BTreeMap::new(),
            node_class: String::new(),
            node_pool: "default".into(),
            drain: false,
            drain_strategy: None,
            scheduling_eligibility: eligibility::ELIGIBLE.into(),
            status: node_status::INITIALIZING.into(),
            status_description: String::new(),
            status_updated_at: 0,
            events: Vec::new(),
            drivers: BTreeMap::new(),
            host_volumes: BTreeMap::new(),
            computed_class: String::new(),
            create_index: 0,
            modify_index: 0,
        }
    }
}

impl Node {
    /// Ready, eligible and not draining: the scheduler may place new work here.
    pub fn is_schedulable(&self) -> bool {
        self.status == node_status::READY
            && self.scheduling_eligibility == eligibility::ELIGIBLE
            && self.drain_strategy.is_none()
    }
}

/// Total resources of a node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeResources {
    /// CPU.
    #[serde(rename = "Cpu")]
    pub cpu: NodeCpuResources,
    /// Memory.
    #[serde(rename = "Memory")]
    pub memory: NodeMemoryResources,
    /// Disk.
    #[serde(rename = "Disk")]
    pub disk: NodeDiskResources,
    /// Network interfaces.
    #[serde(rename = "Networks")]
    pub networks: Vec<NetworkResource>,
    /// Device groups (e.g. all GPUs of one model).
    #[serde(rename = "Devices")]
    pub devices: Vec<NodeDeviceResource>,
    /// Lowest port handed out dynamically (default 20000).
    #[serde(rename = "MinDynamicPort")]
    pub min_dynamic_port: u16,
    /// Highest port handed out dynamically (default 32000).
    #[serde(rename = "MaxDynamicPort")]
    pub max_dynamic_port: u16,
}

/// CPU of a node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeCpuResources {
    /// Total MHz.
    #[serde(rename = "CpuShares")]
    pub cpu_shares: u64,
    /// Number of cores.
    #[serde(rename = "TotalCpuCores")]
    pub total_cpu_cores: u32,
    /// Core IDs tasks may reserve.
    #[serde(rename = "ReservableCpuCores")]
    pub reservable_cpu_cores: Vec<u32>,
}

/// Memory of a node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeMemoryResources {
    /// Total MB.
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u64,
}

/// Disk of a node's allocation directory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeDiskResources {
    /// Total MB.
    #[serde(rename = "DiskMB")]
    pub disk_mb: u64,
}

/// A group of identical devices on a node (`nvidia/gpu/Tesla T4`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeDeviceResource {
    /// Vendor, e.g. `nvidia`.
    #[serde(rename = "Vendor")]
    pub vendor: String,
    /// Type, e.g. `gpu`.
    #[serde(rename = "Type")]
    pub device_type: String,
    /// Model name.
    #[serde(rename = "Name")]
    pub name: String,
    /// The instances.
    #[serde(rename = "Instances")]
    pub instances: Vec<NodeDevice>,
    /// Device attributes (`memory`, `cuda_cores`), as strings with units (`"1024 MB"`).
    /// On the wire they are Nomad's typed attribute objects (`{"Int": 1024, "Unit": "MB"}`);
    /// see [`device_attributes`].
    #[serde(rename = "Attributes", with = "device_attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// One device instance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeDevice {
    /// Instance ID (e.g. a GPU UUID).
    #[serde(rename = "ID")]
    pub id: String,
    /// Unhealthy instances are never assigned.
    #[serde(rename = "Healthy")]
    pub healthy: bool,
    /// Why it is (un)healthy.
    #[serde(rename = "HealthDescription")]
    pub health_description: String,
}

/// Resources a node keeps for itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeReservedResources {
    /// Reserved CPU.
    #[serde(rename = "Cpu")]
    pub cpu: NodeReservedCpu,
    /// Reserved memory.
    #[serde(rename = "Memory")]
    pub memory: NodeMemoryResources,
    /// Reserved disk.
    #[serde(rename = "Disk")]
    pub disk: NodeDiskResources,
    /// Reserved host ports.
    #[serde(rename = "Networks")]
    pub networks: NodeReservedNetwork,
}

/// Reserved CPU.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeReservedCpu {
    /// MHz.
    #[serde(rename = "CpuShares")]
    pub cpu_shares: u64,
    /// Core IDs.
    #[serde(rename = "ReservedCpuCores")]
    pub reserved_cpu_cores: Vec<u32>,
}

/// Reserved host ports, as Nomad's port-spec string (`"22,80,8000-8100"`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeReservedNetwork {
    /// Port spec.
    #[serde(rename = "ReservedHostPorts")]
    pub reserved_host_ports: String,
}

/// Health of a task driver on a node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DriverInfo {
    /// Driver attributes.
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
    /// The driver was found on the node.
    #[serde(rename = "Detected")]
    pub detected: bool,
    /// It can run tasks now.
    #[serde(rename = "Healthy")]
    pub healthy: bool,
    /// Why it is (un)healthy.
    #[serde(rename = "HealthDescription")]
    pub health_description: String,
    /// When health was last updated.
    #[serde(rename = "UpdateTime")]
    pub update_time: Timestamp,
}

/// A host volume a client offers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientHostVolumeConfig {
    /// Volume name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Host path.
    #[serde(rename = "Path")]
    pub path: String,
    /// Only read-only mounts allowed.
    #[serde(rename = "ReadOnly")]
    pub read_only: bool,
}

/// How a node drains.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DrainStrategy {
    /// How long allocations get to migrate (-1: force now, 0: no deadline).
    #[serde(rename = "Deadline")]
    pub deadline: Nanos,
    /// Leave system jobs running.
    #[serde(rename = "IgnoreSystemJobs")]
    pub ignore_system_jobs: bool,
    /// Unix nanos at which remaining allocations are stopped (0: none).
    #[serde(rename = "ForceDeadline")]
    pub force_deadline: Timestamp,
    /// When the drain began.
    #[serde(rename = "StartedAt")]
    pub started_at: Timestamp,
}

/// Something that happened to a node (registered, drain, driver health...).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeEvent {
    /// Description.
    #[serde(rename = "Message")]
    pub message: String,
    /// `Cluster`, `Drain`, `Driver`, ...
    #[serde(rename = "Subsystem")]
    pub subsystem: String,
    /// Extra details.
    #[serde(rename = "Details")]
    pub details: BTreeMap<String, String>,
    /// When.
    #[serde(rename = "Timestamp")]
    pub timestamp: Timestamp,
    /// Raft index of creation.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
}

/// Serde for device attributes: Nomad's JSON writes each as a typed object
/// (`{"Int": 1024, "Unit": "MB"}`, `{"Float": 10.5, "Unit": "MW"}`, `{"String": "x"}`,
/// `{"Bool": true}`); orch keeps them as the text Nomad's parser reads back (`"1024 MB"`).
/// Plain strings are accepted too. Binary formats (postcard) carry the text.
pub mod device_attributes {
    use std::collections::BTreeMap;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Nomad's `psstructs.Attribute` in JSON.
    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(default)]
    struct Attribute {
        #[serde(rename = "Float", skip_serializing_if = "Option::is_none")]
        float: Option<f64>,
        #[serde(rename = "Int", skip_serializing_if = "Option::is_none")]
        int: Option<i64>,
        #[serde(rename = "String", skip_serializing_if = "Option::is_none")]
        string: Option<String>,
        #[serde(rename = "Bool", skip_serializing_if = "Option::is_none")]
        boolean: Option<bool>,
        #[serde(rename = "Unit")]
        unit: String,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Text(String),
        Typed(Attribute),
    }

    fn with_unit(number: String, unit: &str) -> String {
        if unit.is_empty() {
            number
        } else {
            format!("{number} {unit}")
        }
    }

    fn to_text(a: Attribute) -> String {
        if let Some(b) = a.boolean {
            b.to_string()
        } else if let Some(i) = a.int {
            with_unit(i.to_string(), &a.unit)
        } else if let Some(f) = a.float {
            with_unit(f.to_string(), &a.unit)
        } else {
            a.string.unwrap_or_default()
        }
    }

    fn from_text(text: &str) -> Attribute {
        let t = text.trim();
        if t == "true" || t == "false" {
            return Attribute {
                boolean: Some(t == "true"),
                ..Attribute::default()
            };
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.')))
            .unwrap_or(t.len());
        let (number, unit) = (&t[..split], t[split..].trim());
        let unit_ok = unit.chars().all(|c| c.is_ascii_alphabetic() || c == '/');
        if !number.is_empty() && unit_ok {
            if let Ok(i) = number.parse::<i64>() {
                return Attribute {
                    int: Some(i),
                    unit: unit.into(),
                    ..Attribute::default()
                };
            }
            if let Ok(f) = number.parse::<f64>()
                && f.is_finite()
            {
                return Attribute {
                    float: Some(f),
                    unit: unit.into(),
                    ..Attribute::default()
                };
            }
        }
        Attribute {
            string: Some(text.into()),
            ..Attribute::default()
        }
    }

    /// Writes typed objects (JSON) or the text (binary).
    pub fn serialize<S: Serializer>(
        map: &BTreeMap<String, String>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return map.serialize(s);
        }
        let typed: BTreeMap<&String, Attribute> =
            map.iter().map(|(k, v)| (k, from_text(v))).collect();
        typed.serialize(s)
    }

    /// Reads typed objects or plain strings (JSON), or the text (binary).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, String>, D::Error> {
        if !d.is_human_readable() {
            return BTreeMap::deserialize(d);
        }
        let wire = Option::<BTreeMap<String, Option<Wire>>>::deserialize(d)?.unwrap_or_default();
        wire.into_iter()
            .map(|(k, v)| match v {
                None => Err(D::Error::custom(format!("device attribute {k:?} is null"))),
                Some(Wire::Text(t)) => Ok((k, t)),
                Some(Wire::Typed(a)) => Ok((k, to_text(a))),
            })
            .collect()
    }
}

/// What an operator's last drain of a node was and how it ended (Nomad's
/// `DrainMetadata`, the node's `LastDrain`): kept after the drain so `node status`
/// shows who drained it, why, and whether it finished.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DrainMetadata {
    /// When the drain began.
    #[serde(rename = "StartedAt")]
    pub started_at: Timestamp,
    /// When it last changed (set, updated, cancelled or completed).
    #[serde(rename = "UpdatedAt")]
    pub updated_at: Timestamp,
    /// `draining`, `complete` or `canceled` ([`drain_status`]).
    #[serde(rename = "Status")]
    pub status: String,
    /// Accessor of the ACL token that set or cancelled it (empty without ACLs).
    #[serde(rename = "AccessorID")]
    pub accessor_id: String,
    /// The operator's metadata (`node drain -m` is stored as `message`).
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
}

/// Values of [`DrainMetadata::status`].
pub mod drain_status {
    /// The drain is under way.
    pub const DRAINING: &str = "draining";
    /// Every allocation moved and the drain ended by itself.
    pub const COMPLETE: &str = "complete";
    /// An operator stopped it first.
    pub const CANCELED: &str = "canceled";
}
