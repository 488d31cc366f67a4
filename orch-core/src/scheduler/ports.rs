//! Host ports on one node: which are taken, and handing out static and dynamic ports to a
//! new allocation without collisions.

use std::collections::BTreeSet;

use super::rng::SchedRng;
use crate::model::{AllocatedPortMapping, Allocation, NetworkResource, Node};

/// Nomad's default dynamic port range.
pub const DEFAULT_MIN_DYNAMIC_PORT: u16 = 20000;
/// Nomad's default dynamic port range.
pub const DEFAULT_MAX_DYNAMIC_PORT: u16 = 32000;

/// Random probes before falling back to a scan, as Nomad does.
const RANDOM_PROBES: usize = 20;

/// Ports taken on one node (default host network).
#[derive(Debug, Clone)]
pub struct PortIndex {
    used: BTreeSet<u16>,
    min_dynamic: u16,
    max_dynamic: u16,
    host_ip: String,
}

/// Parses Nomad's port-spec string (`"22,80,8000-8100"`).
pub fn parse_port_spec(spec: &str) -> Result<BTreeSet<u16>, String> {
    let mut out = BTreeSet::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            format!("invalid port {part:?} in {spec:?}; expected a port or a range like 8000-8100")
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u16, u16) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                if a > b {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => {
                out.insert(part.parse().map_err(|_| bad())?);
            }
        }
    }
    Ok(out)
}

/// Host ports an allocation holds (none once terminal).
pub fn alloc_ports(alloc: &Allocation) -> impl Iterator<Item = u16> + '_ {
    let live = !alloc.terminal();
    let shared = &alloc.allocated_resources.shared;
    let from_mappings = shared.ports.iter().map(|p| p.value);
    let from_networks = shared
        .networks
        .iter()
        .flat_map(|n| n.reserved_ports.iter().chain(&n.dynamic_ports))
        .map(|p| p.value)
        .filter(|_| shared.ports.is_empty());
    from_mappings
        .chain(from_networks)
        .filter(move |p| live && *p != 0)
}

impl PortIndex {
    /// The node's reserved ports plus those of the given allocations; a collision among
    /// them is reported (it means the node is already over-committed).
    pub fn for_node<'a>(
        node: &Node,
        allocs: impl IntoIterator<Item = &'a Allocation>,
    ) -> Result<Self, String> {
        let r = &node.node_resources;
        let mut idx = PortIndex {
            used: parse_port_spec(&node.reserved_resources.networks.reserved_host_ports)?,
            min_dynamic: if r.min_dynamic_port == 0 {
                DEFAULT_MIN_DYNAMIC_PORT
            } else {
                r.min_dynamic_port
            },
            max_dynamic: if r.max_dynamic_port == 0 {
                DEFAULT_MAX_DYNAMIC_PORT
            } else {
                r.max_dynamic_port
            },
            host_ip: r.networks.first().map(|n| n.ip.clone()).unwrap_or_default(),
        };
        for a in allocs {
            idx.add_alloc(a)?;
        }
        Ok(idx)
    }

    /// Marks an allocation's ports as taken; a port already taken is a collision.
    pub fn add_alloc(&mut self, alloc: &Allocation) -> Result<(), String> {
        for p in alloc_ports(alloc) {
            if !self.used.insert(p) {
                return Err(format!(
                    "port {p} of allocation {} collides with another",
                    alloc.id
                ));
            }
        }
        Ok(())
    }

    /// Whether a port is taken.
    pub fn is_used(&self, port: u16) -> bool {
        self.used.contains(&port)
    }

    /// Assigns host ports to a group's networks: static ports must be free, dynamic ones
    /// are drawn from the node's dynamic range. On success the ports are marked taken and
    /// the filled-in networks plus the flat port list are returned; on failure nothing
    /// changes and the error names the dimension, as Nomad's metrics do.
    pub fn assign(
        &mut self,
        networks: &[NetworkResource],
        rng: &mut SchedRng,
    ) -> Result<(Vec<NetworkResource>, Vec<AllocatedPortMapping>), String> {
        let mut taken: BTreeSet<u16> = BTreeSet::new();
        let mut out_networks = Vec::with_capacity(networks.len());
        let mut mappings = Vec::new();
        for n in networks {
            let mut net = n.clone();
            if net.ip.is_empty() {
                net.ip = self.host_ip.clone();
            }
            for p in &mut net.reserved_ports {
                if self.used.contains(&p.value) || !taken.insert(p.value) {
                    return Err(format!(
                        "network: reserved port collision {}={}",
                        p.label, p.value
                    ));
                }
            }
            for p in &mut net.dynamic_ports {
                p.value = self
                    .pick_dynamic(&taken, rng)
                    .ok_or_else(|| "network: dynamic port selection failed".to_string())?;
                taken.insert(p.value);
            }
            for p in net.reserved_ports.iter().chain(&net.dynamic_ports) {
                mappings.push(AllocatedPortMapping {
                    label: p.label.clone(),
                    value: p.value,
                    to: if p.to == 0 { i32::from(p.value) } else { p.to },
                    host_ip: net.ip.clone(),
                });
            }
            out_networks.push(net);
        }
        self.used.extend(taken);
        Ok((out_networks, mappings))
    }

    fn pick_dynamic(&self, taken: &BTreeSet<u16>, rng: &mut SchedRng) -> Option<u16> {
        let (lo, hi) = (self.min_dynamic, self.max_dynamic.max(self.min_dynamic));
        let free = |p: u16| !self.used.contains(&p) && !taken.contains(&p);
        let span = u64::from(hi - lo) + 1;
        for _ in 0..RANDOM_PROBES {
            let p = lo + rng.below(span) as u16;
            if free(p) {
                return Some(p);
            }
        }
        (lo..=hi).find(|p| free(*p))
    }
}

#[cfg(test)]
mod tests;
