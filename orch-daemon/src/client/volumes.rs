//! Host volumes: a task's `volume_mount`s resolved against its group's `volume` blocks
//! and this node's `host_volume` config, into the bind mounts its driver makes.
//!
//! Read-only wins wherever it is said: in the client's `host_volume`, the group's
//! `volume` or the task's `volume_mount`. A `per_alloc` host volume is `source[i]`
//! for allocation index `i`. CSI volumes are the directories the allocation runner
//! published them into (`client::csi`). A host volume this node does not have is
//! refused (the scheduler places only on nodes that have it, so this means the
//! node's config changed under the allocation).

use std::collections::BTreeMap;
use std::path::PathBuf;

use orch_core::model::{Node, Task, TaskGroup};

use super::driver::TaskVolume;

/// The bind mounts of `task` in allocation `alloc_name` (`job.group[i]`), with the
/// group's CSI volumes published at `csi` (by volume request name), or why it cannot
/// have them.
pub fn task_volumes(
    group: &TaskGroup,
    task: &Task,
    node: &Node,
    alloc_name: &str,
    csi: &BTreeMap<String, PathBuf>,
) -> Result<Vec<TaskVolume>, String> {
    let mut out = Vec::new();
    for m in &task.volume_mounts {
        let Some(req) = group.volumes.get(&m.volume) else {
            return Err(format!(
                "task {:?}: volume_mount names volume {:?}, which the group does not declare",
                task.name, m.volume
            ));
        };
        if req.kind == "csi" {
            let Some(path) = csi.get(&m.volume) else {
                return Err(format!(
                    "task {:?}: CSI volume {:?} is not published on this node",
                    task.name, m.volume
                ));
            };
            out.push(TaskVolume {
                host_path: path.clone(),
                destination: PathBuf::from(&m.destination),
                read_only: m.read_only || req.read_only,
                propagation: m.propagation_mode.clone(),
            });
            continue;
        }
        if req.kind != "host" {
            return Err(format!(
                "task {:?}: volume {:?} has type {:?}; expected host or csi",
                task.name, m.volume, req.kind
            ));
        }
        let source =
            orch_core::model::csi::claimed_volume_id(&req.source, req.per_alloc, alloc_name);
        let Some(hv) = node.host_volumes.get(&source) else {
            return Err(format!(
                "task {:?}: this node has no host volume {source:?}; add client {{ host_volume {source:?} {{ path = ... }} }}",
                task.name
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

/// Checks every task of `group` before any of them starts (CSI volumes once they
/// are published, so `csi` must hold them).
pub fn check_group(
    group: &TaskGroup,
    node: &Node,
    alloc_name: &str,
    csi: &BTreeMap<String, PathBuf>,
) -> Result<(), String> {
    group
        .tasks
        .iter()
        .try_for_each(|t| task_volumes(group, t, node, alloc_name, csi).map(|_| ()))
}
