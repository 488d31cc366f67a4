//! What a task asks for (`Resources`, devices, networks and ports), in Nomad's JSON shape.

use serde::{Deserialize, Serialize};

use super::constraint::{Affinity, Constraint};
use super::device_share::DeviceShare;

/// A task's resource ask. Defaults are Nomad's: 100 MHz CPU, 300 MB memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// CPU in MHz; ignored when `Cores` reserves whole cores.
    #[serde(rename = "CPU")]
    pub cpu: u64,
    /// Whole cores reserved exclusively for the task.
    #[serde(rename = "Cores")]
    pub cores: u64,
    /// Memory in MB the scheduler reserves.
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u64,
    /// Memory limit in MB the task may burst to (0: no oversubscription).
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: u64,
    /// Deprecated per-task disk; Nomad ignores it in favour of the group's ephemeral disk.
    #[serde(rename = "DiskMB")]
    pub disk_mb: u64,
    /// Deprecated task-level networks; group networks are the supported form.
    #[serde(rename = "Networks")]
    pub networks: Vec<NetworkResource>,
    /// Devices such as GPUs, by name (`nvidia/gpu`).
    #[serde(rename = "Devices")]
    pub devices: Vec<RequestedDevice>,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            cpu: 100,
            cores: 0,
            memory_mb: 300,
            memory_max_mb: 0,
            disk_mb: 0,
            networks: Vec::new(),
            devices: Vec::new(),
        }
    }
}

/// A device request: `Name` is `type`, `vendor/type` or `vendor/type/model`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestedDevice {
    /// Device id pattern, e.g. `nvidia/gpu`.
    #[serde(rename = "Name")]
    pub name: String,
    /// How many instances (default 1).
    #[serde(rename = "Count")]
    pub count: u64,
    /// Constraints on device attributes (`${device.attr.memory} >= 2 GiB`).
    #[serde(rename = "Constraints")]
    pub constraints: Vec<Constraint>,
    /// Preferences among matching devices.
    #[serde(rename = "Affinities")]
    pub affinities: Vec<Affinity>,
    /// orch's fractional sharing: the part of one instance the task needs (`0.25`).
    /// `None` (Nomad's form) asks for `Count` whole instances; a share needs `Count` 1
    /// and is packed with other shares onto an instance up to a whole one.
    #[serde(rename = "Share")]
    pub share: Option<DeviceShare>,
}

impl Default for RequestedDevice {
    fn default() -> Self {
        RequestedDevice {
            name: String::new(),
            count: 1,
            constraints: Vec::new(),
            affinities: Vec::new(),
            share: None,
        }
    }
}

/// A network a group (or, deprecated, a task) asks for, with its ports.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkResource {
    /// `host` (default), `bridge`, `none`, or `cni/<name>`.
    #[serde(rename = "Mode")]
    pub mode: String,
    /// Host device name, filled in on allocation.
    #[serde(rename = "Device")]
    pub device: String,
    /// Host CIDR, filled in on allocation.
    #[serde(rename = "CIDR")]
    pub cidr: String,
    /// Host IP, filled in on allocation.
    #[serde(rename = "IP")]
    pub ip: String,
    /// Hostname inside the network namespace.
    #[serde(rename = "Hostname")]
    pub hostname: String,
    /// Deprecated bandwidth ask; accepted, not enforced (as in Nomad 1.x).
    #[serde(rename = "MBits")]
    pub mbits: u64,
    /// DNS settings for bridge mode.
    #[serde(rename = "DNS")]
    pub dns: Option<DnsConfig>,
    /// Ports with a fixed host port.
    #[serde(rename = "ReservedPorts")]
    pub reserved_ports: Vec<Port>,
    /// Ports whose host port the scheduler picks.
    #[serde(rename = "DynamicPorts")]
    pub dynamic_ports: Vec<Port>,
}

/// DNS configuration of a network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DnsConfig {
    /// Nameserver addresses.
    #[serde(rename = "Servers")]
    pub servers: Vec<String>,
    /// Search domains.
    #[serde(rename = "Searches")]
    pub searches: Vec<String>,
    /// resolv.conf options.
    #[serde(rename = "Options")]
    pub options: Vec<String>,
}

/// A labelled port. `Value` is the host port (0 until assigned for dynamic ports).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Port {
    /// The name tasks use (`NOMAD_PORT_<label>`).
    #[serde(rename = "Label")]
    pub label: String,
    /// Host port.
    #[serde(rename = "Value")]
    pub value: u16,
    /// Port inside the task's network namespace (0: same as `Value`; -1: same, mapped).
    #[serde(rename = "To")]
    pub to: i32,
    /// Named host network to bind on (default: the default network).
    #[serde(rename = "HostNetwork")]
    pub host_network: String,
}
