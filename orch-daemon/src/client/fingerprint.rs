//! Node fingerprinting: what this machine offers, as the attributes, resources and
//! drivers Nomad's clients report, so that jobspec constraints written for Nomad
//! (`${attr.kernel.name}`, `${attr.cpu.arch}`, `${attr.unique.hostname}`, ...) match.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use orch_core::model::{
    ClientHostVolumeConfig, DriverInfo, NetworkResource, Node, NodeCpuResources, NodeDiskResources,
    NodeMemoryResources, NodeReservedCpu, NodeReservedNetwork, NodeReservedResources,
    NodeResources, Timestamp,
};

use crate::agent::config::ClientConfig;

use super::driver::DriverRegistry;

mod devices;

/// The Nomad release whose API and attributes orch speaks; jobspecs constrain on
/// `${attr.nomad.version}`, so it is reported alongside `orch.version`.
pub const NOMAD_COMPAT_VERSION: &str = "1.9.7";

/// Lowest port of the dynamic range when `min_dynamic_port` is not set (Nomad's).
pub const DEFAULT_MIN_DYNAMIC_PORT: u16 = 20000;
/// Highest port of the dynamic range when `max_dynamic_port` is not set (Nomad's).
pub const DEFAULT_MAX_DYNAMIC_PORT: u16 = 32000;

/// Inputs to a fingerprint that are not read from the machine.
pub struct FingerprintInput<'a> {
    /// The node's ID (persisted by the client).
    pub node_id: &'a str,
    /// Secret shared with the servers.
    pub secret_id: &'a str,
    /// Node name.
    pub name: &'a str,
    /// Datacenter.
    pub datacenter: &'a str,
    /// The client's HTTP address (`host:port`), where servers reach `/v1/client/*`.
    pub http_addr: &'a str,
    /// The address the agent binds to; a specific address is the node's address.
    pub bind_addr: &'a str,
    /// Where the client keeps allocation directories (for disk space).
    pub alloc_dir: &'a Path,
    /// The `client` block.
    pub config: &'a ClientConfig,
}

/// Builds the node this client registers.
pub fn fingerprint(input: &FingerprintInput<'_>, drivers: &DriverRegistry) -> Node {
    let mut node = host_node(input);
    apply_drivers(&mut node, drivers);
    node
}

/// Fingerprints the devices again (GPUs that appeared, failed or recovered); whether
/// that changed the node.
pub fn apply_devices(node: &mut Node, config: &ClientConfig) -> bool {
    let devices = devices::fingerprint_devices(config, &node.node_resources.devices);
    let changed = devices != node.node_resources.devices;
    node.node_resources.devices = devices;
    changed
}

/// The node without its drivers.
fn host_node(input: &FingerprintInput<'_>) -> Node {
    let mut attrs = BTreeMap::new();
    let cpu = cpu_info();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let mhz = cpu.mhz.max(1);
    let total_compute = input
        .config
        .cpu_total_compute
        .unwrap_or(u64::from(cores) * mhz);
    attrs.insert("cpu.arch".into(), go_arch().into());
    attrs.insert("cpu.numcores".into(), cores.to_string());
    attrs.insert("cpu.frequency".into(), mhz.to_string());
    attrs.insert("cpu.totalcompute".into(), total_compute.to_string());
    attrs.insert("cpu.reservablecores".into(), cores.to_string());
    if !cpu.model.is_empty() {
        attrs.insert("cpu.modelname".into(), cpu.model);
    }
    let memory_bytes = meminfo_total_bytes().unwrap_or(0);
    let memory_mb = input
        .config
        .memory_total_mb
        .unwrap_or(memory_bytes / (1024 * 1024));
    attrs.insert(
        "memory.totalbytes".into(),
        (memory_mb * 1024 * 1024).to_string(),
    );
    system_attributes(&mut attrs);
    let (ip, device) = node_address(input.bind_addr, input.config.network_interface.as_deref());
    attrs.insert("unique.network.ip-address".into(), ip.to_string());
    let disk_free = storage_attributes(&mut attrs, input.alloc_dir);
    let config = input.config;
    Node {
        id: input.node_id.into(),
        secret_id: input.secret_id.into(),
        datacenter: input.datacenter.into(),
        name: input.name.into(),
        http_addr: input.http_addr.into(),
        attributes: attrs,
        node_resources: NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: total_compute,
                total_cpu_cores: cores,
                reservable_cpu_cores: (0..cores).collect(),
            },
            memory: NodeMemoryResources { memory_mb },
            disk: NodeDiskResources {
                disk_mb: disk_free / (1024 * 1024),
            },
            networks: vec![NetworkResource {
                mode: "host".into(),
                device,
                cidr: match ip {
                    IpAddr::V4(_) => format!("{ip}/32"),
                    IpAddr::V6(_) => format!("{ip}/128"),
                },
                ip: ip.to_string(),
                ..NetworkResource::default()
            }],
            devices: devices::fingerprint_devices(config, &[]),
            min_dynamic_port: config.min_dynamic_port.unwrap_or(DEFAULT_MIN_DYNAMIC_PORT),
            max_dynamic_port: config.max_dynamic_port.unwrap_or(DEFAULT_MAX_DYNAMIC_PORT),
        },
        reserved_resources: reserved_resources(config),
        meta: config.meta.clone(),
        node_class: config.node_class.clone().unwrap_or_default(),
        node_pool: config.node_pool.clone().unwrap_or_else(|| "default".into()),
        scheduling_eligibility: "eligible".into(),
        status: "initializing".into(),
        drivers: BTreeMap::new(),
        host_volumes: host_volumes(config),
        ..Node::default()
    }
}

/// Kernel, OS, signals and hostname attributes, as Nomad's fingerprinters name them.
fn system_attributes(attrs: &mut BTreeMap<String, String>) {
    attrs.insert("kernel.name".into(), std::env::consts::OS.into());
    attrs.insert("kernel.arch".into(), std::env::consts::ARCH.into());
    if let Some(v) = read_trimmed("/proc/sys/kernel/osrelease") {
        attrs.insert("kernel.version".into(), v);
    }
    let os = os_release();
    if let Some(id) = os.get("ID") {
        attrs.insert("os.name".into(), id.clone());
    }
    if let Some(v) = os.get("VERSION_ID") {
        attrs.insert("os.version".into(), v.clone());
    }
    attrs.insert("os.signals".into(), SIGNALS.join(","));
    let hostname = read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into());
    attrs.insert("unique.hostname".into(), hostname);
}

/// The allocation directory's volume and its space; returns the free bytes.
fn storage_attributes(attrs: &mut BTreeMap<String, String>, alloc_dir: &Path) -> u64 {
    let (disk_total, disk_free) = crate::disk::disk_space(alloc_dir);
    attrs.insert(
        "unique.storage.volume".into(),
        alloc_dir.display().to_string(),
    );
    attrs.insert("unique.storage.bytestotal".into(), disk_total.to_string());
    attrs.insert("unique.storage.bytesfree".into(), disk_free.to_string());
    attrs.insert("nomad.version".into(), NOMAD_COMPAT_VERSION.into());
    attrs.insert("orch.version".into(), env!("CARGO_PKG_VERSION").into());
    disk_free
}

/// What the client config keeps back for the host.
fn reserved_resources(config: &ClientConfig) -> NodeReservedResources {
    NodeReservedResources {
        cpu: NodeReservedCpu {
            cpu_shares: config.reserved.cpu,
            reserved_cpu_cores: Vec::new(),
        },
        memory: NodeMemoryResources {
            memory_mb: config.reserved.memory,
        },
        disk: NodeDiskResources {
            disk_mb: config.reserved.disk,
        },
        networks: NodeReservedNetwork {
            reserved_host_ports: config.reserved.reserved_ports.clone(),
        },
    }
}

/// The client's `host_volume` blocks as the node reports them.
fn host_volumes(config: &ClientConfig) -> BTreeMap<String, ClientHostVolumeConfig> {
    config
        .host_volume
        .iter()
        .map(|(name, v)| {
            (
                name.clone(),
                ClientHostVolumeConfig {
                    name: name.clone(),
                    path: v.path.clone(),
                    read_only: v.read_only,
                },
            )
        })
        .collect()
}

/// Signals tasks may use in `kill_signal` and template `change_signal`.
const SIGNALS: &[&str] = &[
    "SIGABRT",
    "SIGALRM",
    "SIGBUS",
    "SIGCHLD",
    "SIGCONT",
    "SIGFPE",
    "SIGHUP",
    "SIGILL",
    "SIGINT",
    "SIGIO",
    "SIGIOT",
    "SIGKILL",
    "SIGPIPE",
    "SIGPROF",
    "SIGQUIT",
    "SIGSEGV",
    "SIGSTOP",
    "SIGSYS",
    "SIGTERM",
    "SIGTRAP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGUSR1",
    "SIGUSR2",
    "SIGVTALRM",
    "SIGWINCH",
    "SIGXCPU",
    "SIGXFSZ",
];

/// Go's name for this architecture (Nomad reports `amd64`, not `x86_64`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

struct CpuInfo {
    mhz: u64,
    model: String,
}

fn cpu_info() -> CpuInfo {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    // Prefer the rated maximum (cpufreq) over the momentary `cpu MHz`.
    let max_khz = read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
        .and_then(|v| v.parse::<u64>().ok());
    let mhz = max_khz.map(|k| k / 1000).or_else(|| {
        field("cpu MHz")
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v as u64)
    });
    CpuInfo {
        // Some virtual machines report no frequency: Nomad falls back to 1000 MHz.
        mhz: mhz.filter(|m| *m > 0).unwrap_or(1000),
        model: field("model name").unwrap_or_default(),
    }
}

fn meminfo_total_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn os_release() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// The node's address and interface: the bind address when it names one, else the
/// configured interface, else the interface of the default route.
fn node_address(bind: &str, interface: Option<&str>) -> (IpAddr, String) {
    let loopback = IpAddr::from([127, 0, 0, 1]);
    if let Ok(ip) = bind.parse::<IpAddr>()
        && !ip.is_unspecified()
    {
        let dev = if ip.is_loopback() {
            "lo".to_string()
        } else {
            default_route_device()
        };
        return (ip, dev);
    }
    if let Some(name) = interface
        && let Some(ip) = interface_ipv4(name)
    {
        return (ip, name.to_string());
    }
    // A UDP "connection" sends nothing; it only asks the kernel which source address
    // the default route would use.
    let routed = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip());
    match routed {
        Ok(ip) if !ip.is_unspecified() => (ip, default_route_device()),
        _ => (loopback, "lo".into()),
    }
}

/// The interface of the default IPv4 route, from `/proc/net/route`.
fn default_route_device() -> String {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 1 && f[1] == "00000000")
        .map(|f| f[0].to_string())
        .unwrap_or_else(|| "lo".into())
}

/// An interface's first IPv4 address (`getifaddrs`).
fn interface_ipv4(name: &str) -> Option<IpAddr> {
    // SAFETY: getifaddrs fills a linked list we walk read-only and free once.
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut list) != 0 {
            return None;
        }
        let mut found = None;
        let mut cur = list;
        while !cur.is_null() {
            let ifa = &*cur;
            if !ifa.ifa_addr.is_null()
                && i32::from((*ifa.ifa_addr).sa_family) == libc::AF_INET
                && std::ffi::CStr::from_ptr(ifa.ifa_name).to_str() == Ok(name)
            {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                found = Some(IpAddr::from(
                    u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                ));
                break;
            }
            cur = ifa.ifa_next;
        }
        libc::freeifaddrs(list);
        found
    }
}

/// Fingerprints the drivers again into `node` (its `Drivers` and `driver.*` attributes);
/// whether anything changed, so the client re-registers only then. Called at start and
/// periodically, so a driver whose engine comes and goes (docker) turns healthy again.
pub fn apply_drivers(node: &mut Node, drivers: &DriverRegistry) -> bool {
    let mut attrs: BTreeMap<String, String> = node
        .attributes
        .iter()
        .filter(|(k, _)| !k.starts_with("driver."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut infos = BTreeMap::new();
    for (name, fp) in drivers.fingerprint_all() {
        if fp.detected {
            attrs.insert(format!("driver.{name}"), "1".into());
            for (k, v) in &fp.attributes {
                attrs.insert(format!("driver.{k}"), v.clone());
            }
        }
        infos.insert(
            name,
            DriverInfo {
                attributes: fp.attributes,
                detected: fp.detected,
                healthy: fp.healthy,
                health_description: fp.health_description,
                update_time: Timestamp::default(),
            },
        );
    }
    let changed = attrs != node.attributes || infos != node.drivers;
    node.attributes = attrs;
    node.drivers = infos;
    changed
}

#[cfg(test)]
mod tests;
