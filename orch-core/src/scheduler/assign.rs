//! Turning a chosen node into an allocation: the resources it reserves, and the concrete
//! host ports, device instances and cores it gets on that node.

use std::collections::{BTreeMap, BTreeSet};

use super::context::PlanContext;
use super::devices::DeviceLedger;
use super::ports::PortIndex;
use super::rng::SchedRng;
use crate::model::{
    AllocatedCpuResources, AllocatedDeviceResource, AllocatedMemoryResources, AllocatedResources,
    AllocatedSharedResources, AllocatedTaskResources, Node, TaskGroup,
};

/// Checks what plain arithmetic does not: free ports, device instances and core IDs.
/// Cheap for groups that ask for none of them (the common case).
pub fn check_extras(ctx: &PlanContext<'_>, node: &Node, tg: &TaskGroup) -> Result<(), String> {
    if tg
        .networks
        .iter()
        .any(|n| !n.reserved_ports.is_empty() || !n.dynamic_ports.is_empty())
    {
        let mut ports = PortIndex::for_node(node, ctx.allocs_on_node(&node.id))?;
        ports.assign(&tg.networks, &mut SchedRng::new(0))?;
    }
    if tg.tasks.iter().any(|t| !t.resources.devices.is_empty()) {
        assign_devices(ctx, node, tg)?;
    }
    Ok(())
}

/// The resources of a new allocation of `tg` on `node`, with ports, devices and cores
/// picked. `None` if something ran out after all (callers check first).
pub fn allocate(
    ctx: &PlanContext<'_>,
    node: &Node,
    tg: &TaskGroup,
    rng: &mut SchedRng,
    oversubscribe: bool,
) -> Option<AllocatedResources> {
    let mut shared = AllocatedSharedResources {
        disk_mb: tg.ephemeral_disk.size_mb,
        ..Default::default()
    };
    if !tg.networks.is_empty() {
        let mut ports = PortIndex::for_node(node, ctx.allocs_on_node(&node.id)).ok()?;
        let (networks, mappings) = ports.assign(&tg.networks, rng).ok()?;
        shared.networks = networks;
        shared.ports = mappings;
    }
    let mut devices = if tg.tasks.iter().any(|t| !t.resources.devices.is_empty()) {
        assign_devices(ctx, node, tg).ok()?
    } else {
        BTreeMap::new()
    };
    let mut free_cores = if tg.tasks.iter().any(|t| t.resources.cores > 0) {
        free_cores(ctx, node)
    } else {
        Vec::new()
    };
    let mut tasks = crate::model::SmallMap::new();
    let mut lifecycles = crate::model::SmallMap::new();
    for t in &tg.tasks {
        let r = &t.resources;
        let reserved_cores: Vec<u32> = if r.cores > 0 {
            let take = usize::try_from(r.cores).ok()?;
            if free_cores.len() < take {
                return None;
            }
            free_cores.drain(..take).collect()
        } else {
            Vec::new()
        };
        tasks.insert(
            t.name.clone(),
            AllocatedTaskResources {
                cpu: AllocatedCpuResources {
                    cpu_shares: if r.cores > 0 { 0 } else { r.cpu },
                    reserved_cores,
                },
                memory: AllocatedMemoryResources {
                    memory_mb: r.memory_mb,
                    // Nomad drops `memory_max` unless oversubscription is enabled.
                    memory_max_mb: if oversubscribe { r.memory_max_mb } else { 0 },
                },
                networks: Vec::new(),
                devices: devices.remove(&t.name).unwrap_or_default(),
            },
        );
        lifecycles.insert(t.name.clone(), t.lifecycle.clone());
    }
    Some(AllocatedResources {
        tasks,
        task_lifecycles: lifecycles,
        shared,
    })
}

/// Core IDs of the node not reserved by the node or held by live allocations.
fn free_cores(ctx: &PlanContext<'_>, node: &Node) -> Vec<u32> {
    let cpu = &node.node_resources.cpu;
    let all: Vec<u32> = if cpu.reservable_cpu_cores.is_empty() {
        (0..cpu.total_cpu_cores).collect()
    } else {
        cpu.reservable_cpu_cores.clone()
    };
    let mut taken: BTreeSet<u32> = node
        .reserved_resources
        .cpu
        .reserved_cpu_cores
        .iter()
        .copied()
        .collect();
    for a in ctx.allocs_on_node(&node.id) {
        for t in a.allocated_resources.tasks.values() {
            taken.extend(t.cpu.reserved_cores.iter().copied());
        }
    }
    all.into_iter().filter(|c| !taken.contains(c)).collect()
}

/// Device instances for every task's requests, beside what the node's allocations (as
/// the plan leaves them) hold; the error names the device (`scheduler::devices`).
fn assign_devices(
    ctx: &PlanContext<'_>,
    node: &Node,
    tg: &TaskGroup,
) -> Result<BTreeMap<String, Vec<AllocatedDeviceResource>>, String> {
    let ledger = DeviceLedger::from_allocs(ctx.allocs_on_node(&node.id));
    let tasks = tg
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.resources.devices.as_slice()));
    super::devices::assign_group(node, tasks, ledger)
}
