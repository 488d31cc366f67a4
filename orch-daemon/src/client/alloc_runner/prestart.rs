//! What an allocation runner does before its first task starts: take over a sticky
//! disk, mount the group's CSI volumes, then build the group's network (and undo the
//! mounts and the network once every task has stopped).

use orch_core::model::{TaskGroup, desired_status};

use super::AllocRunner;
use crate::client::alloc_dir::AllocDir;
use crate::client::network::{self, AllocNetwork};
use crate::client::task_runner::{event, new_event};

impl AllocRunner {
    /// With a sticky (or migrating) ephemeral disk, takes over the previous
    /// allocation's data when it ran here; with `migrate`, fetches it from the client
    /// that ran it when it ran on another node. Says what happened in the task events.
    pub(super) async fn take_sticky_disk(&mut self, group: &TaskGroup) {
        let alloc = self.snapshot().alloc;
        let disk = &group.ephemeral_disk;
        if self.restoring || alloc.previous_allocation.is_empty() || !(disk.sticky || disk.migrate)
        {
            return;
        }
        let prev = alloc.previous_allocation.clone();
        let old = AllocDir::new(
            self.dir.root.parent().unwrap_or(std::path::Path::new("")),
            &prev,
        );
        let tasks: Vec<String> = group.tasks.iter().map(|t| t.name.clone()).collect();
        let local = crate::client::sticky::take_over(self.previous.take(), &old, &self.dir, &tasks);
        let message = match local.await {
            Ok(true) => format!("Took over the ephemeral disk of allocation {prev}"),
            Ok(false) if disk.migrate => {
                let fetched = crate::client::migrate::fetch(
                    &self.conn,
                    &self.node.id,
                    &alloc.id,
                    &prev,
                    &self.dir,
                    &tasks,
                )
                .await;
                match fetched {
                    Ok(true) => format!("Migrated the ephemeral disk of allocation {prev}"),
                    Ok(false) => format!(
                        "ephemeral_disk.migrate: the node of allocation {prev} is down; the tasks start with an empty disk"
                    ),
                    Err(e) => format!(
                        "ephemeral_disk.migrate: could not fetch the data of allocation {prev}: {e}; the tasks start with an empty disk"
                    ),
                }
            }
            Ok(false) => return,
            Err(e) => format!(
                "ephemeral_disk.sticky: could not take over the previous allocation's data: {e}"
            ),
        };
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for t in &tasks {
            let mut ev = new_event(event::SETUP, &message);
            ev.message = message.clone();
            st.tasks.entry(t.clone()).or_default().state.events.push(ev);
        }
    }

    /// Mounts the group's CSI volumes, then checks every task's volume mounts.
    pub(super) async fn prepare_volumes(
        &mut self,
        group: &TaskGroup,
        alloc_name: &str,
    ) -> Result<(), String> {
        self.mount_csi_volumes(group).await?;
        crate::client::volumes::check_group(group, &self.node, alloc_name, &self.csi_mounts)
    }

    /// Stages and publishes every CSI volume the group asks for (in request-name
    /// order), recording where each one is for the tasks' bind mounts. A restarted
    /// client takes what its record says is mounted (its tasks still use it), so a
    /// server or plugin away at that moment does not fail running tasks.
    async fn mount_csi_volumes(&mut self, group: &TaskGroup) -> Result<(), String> {
        let alloc = self.snapshot().alloc;
        if self.restoring {
            for m in self.csi.mounted(&alloc.id) {
                self.csi_mounts.insert(m.request, m.target);
            }
        }
        let wanted = group.volumes.iter().filter(|(_, r)| r.kind == "csi");
        for (name, req) in wanted {
            if self.csi_mounts.contains_key(name) {
                continue;
            }
            let mounted = self
                .csi
                .mount(&alloc, name, req)
                .await
                .map_err(|e| format!("CSI volume {name:?}: {e}"))?;
            self.csi_mounts.insert(name.clone(), mounted.target);
        }
        Ok(())
    }

    /// Unmounts the allocation's CSI volumes and forgets the plugins its tasks ran.
    pub(super) async fn release_csi(&self) {
        let id = self.snapshot().alloc.id;
        self.csi.unmount_alloc(&id).await;
        self.csi.deregister_alloc(&id);
    }

    /// Builds the group's network (nothing in host mode) before any task starts; a
    /// restarted client finds the one it recorded.
    pub(super) async fn setup_network(
        &self,
        group: &TaskGroup,
    ) -> Result<Option<AllocNetwork>, String> {
        if network::group_mode(group) == "host" {
            return Ok(None);
        }
        let alloc = self.snapshot().alloc;
        if alloc.desired_status != desired_status::RUN && !self.restoring {
            return Ok(None);
        }
        let (mgr, group) = (self.network.clone(), group.clone());
        tokio::task::spawn_blocking(move || {
            mgr.check(&group)?;
            mgr.setup(&alloc, &group)
        })
        .await
        .map_err(|e| format!("network setup panicked: {e}"))?
        .map_err(|e| e.to_string())
    }

    /// Removes the group's network once every task has stopped.
    pub(super) async fn teardown_network(&self) {
        let (mgr, id) = (self.network.clone(), self.snapshot().alloc.id);
        let done = tokio::task::spawn_blocking(move || mgr.teardown(&id)).await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "removing the allocation's network failed");
        }
    }
}
