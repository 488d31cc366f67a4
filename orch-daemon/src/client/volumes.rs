//! Host volumes: a task's `volume_mount`s resolved against its group's `volume` blocks
//! and this node's `host_volume` config, into the bind mounts its driver makes.
//!
//! Read-only wins wherever it is said: in the client's `host_volume`, the group's
//! `volume` or the task's `volume_mount`. CSI volumes are refused by name (not built
//! yet), and so is a host volume this node does not have (the scheduler places only on
//! nodes that have it, so this means the node's config changed under the allocation).

use std::path::PathBuf;

use orch_core::model::{Node, Task, TaskGroup};

use super::driver::TaskVolume;

/// The bind mounts of `task`, or why it cannot have them.
pub fn task_volumes(
    group: &TaskGroup,
    task: &Task,
    node: &Node,
) -> Result<Vec<TaskVolume>, String> {
    let mut out = Vec::new();
    for m in &task.volume_mounts {
        let Some(req) = group.volumes.get(&m.volume) else {
            return Err(format!(
                "task {:?}: volume_mount names volume {:?}, which the group does not declare",
                task.name, m.volume
            ));
        };
        if req.kind != "host" {
            return Err(format!(
                "task {:?}: volume {:?} has type {:?}; orch mounts host volumes only (CSI is not supported yet)",
                task.name, m.volume, req.kind
            ));
        }
        let Some(hv) = node.host_volumes.get(&req.source) else {
            return Err(format!(
                "task {:?}: this node has no host volume {:?}; add client {{ host_volume {:?} {{ path = ... }} }}",
                task.name, req.source, req.source
            ));
        };
        out.push(TaskVolume {
            host_path: PathBuf::from(&hv.path),
            destination: PathBuf::from(&m.destination),
            read_only: m.read_only || req.read_only || hv.read_only,
            propagation: m.propagation_mode.clone(),
        });
    }
    Ok(out)
}

/// Checks every task of `group` before any of them starts.
pub fn check_group(group: &TaskGroup, node: &Node) -> Result<(), String> {
    group
        .tasks
        .iter()
        .try_for_each(|t| task_volumes(group, t, node).map(|_| ()))
}
