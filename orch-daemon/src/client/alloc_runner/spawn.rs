//! Starting one task of the allocation: its environment, its `TaskSpec` (ports,
//! volumes, the group's network) and its runner.

use std::collections::BTreeMap;
use std::sync::Arc;

use orch_core::lifecycle::{
    InterpolationVars, TaskEnvInput, interpolate_json, interpolation_vars, task_env,
};
use orch_core::model::{Allocation, Task, TaskGroup};
use tokio::sync::mpsc;

use super::{AllocRunner, port_mappings, seed_of};
use crate::client::alloc_dir::TaskDir;
use crate::client::driver::{TaskNetwork, TaskSpec};
use crate::client::network::AllocNetwork;
use crate::client::task_runner::{TaskCommand, TaskRunner, TaskUpdate};

impl AllocRunner {
    /// A CSI plugin task is registered with the node's CSI manager and told its
    /// socket in `CSI_ENDPOINT`, as Nomad tells plugins.
    fn csi_plugin_env(
        &self,
        task: &orch_core::model::Task,
        alloc_id: &str,
        env: &mut BTreeMap<String, String>,
    ) {
        let Some(cfg) = &task.csi_plugin else { return };
        match self.csi.register(alloc_id, cfg) {
            Ok(socket) => {
                env.insert(
                    "CSI_ENDPOINT".into(),
                    format!("unix://{}", socket.display()),
                );
            }
            Err(e) => tracing::warn!(error = %e, "cannot create the CSI plugin's socket directory"),
        }
    }

    pub(super) fn spawn_task(
        &self,
        group: &TaskGroup,
        name: &str,
        net: Option<&AllocNetwork>,
        updates: &mpsc::UnboundedSender<TaskUpdate>,
        senders: &mut BTreeMap<String, mpsc::UnboundedSender<TaskCommand>>,
    ) {
        let Some(task) = group.tasks.iter().find(|t| t.name == name).cloned() else {
            return;
        };
        let st = self.snapshot();
        let alloc = &st.alloc;
        let dir = self.dir.task(name);
        let (spec, vars) = self.task_spec(group, &task, &dir, net, alloc);
        let job = alloc.job.as_ref();
        let (tx, rx) = mpsc::unbounded_channel();
        let restored = st.tasks.get(name).cloned();
        let reattached = restored
            .as_ref()
            .is_some_and(|l| l.handle.is_some() && !l.done);
        let runner = TaskRunner {
            payload: job.map(|j| j.payload.clone()).unwrap_or_default(),
            driver: self.drivers.get(&task.driver),
            identities: crate::client::identity_hook::IdentityHook::new(&task, reattached),
            restored,
            seed: seed_of(&alloc.id, name),
            task,
            job_type: job.map(|j| j.job_type.clone()).unwrap_or_default(),
            spec,
            vars,
            dir,
            updates: updates.clone(),
            commands: rx,
            conn: Some(Arc::clone(&self.conn)),
            catalog: Default::default(),
        };
        senders.insert(name.to_string(), tx);
        self.task_envs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                name.to_string(),
                (runner.spec.env.clone(), runner.dir.dir.clone()),
            );
        tokio::spawn(runner.run());
    }

    /// What the driver is given to start `task`: its environment, interpolated config,
    /// resources, ports, volumes and network; and the variables its config was
    /// interpolated with (templates and checks use them too).
    fn task_spec(
        &self,
        group: &TaskGroup,
        task: &Task,
        dir: &TaskDir,
        net: Option<&AllocNetwork>,
        alloc: &Allocation,
    ) -> (TaskSpec, InterpolationVars) {
        let shared = self.dir.shared();
        let (alloc_dir, local, secrets, tmp) = (
            shared.display().to_string(),
            dir.local.display().to_string(),
            dir.secrets.display().to_string(),
            dir.tmp.display().to_string(),
        );
        let input = TaskEnvInput {
            alloc,
            group: &group.name,
            task,
            node: &self.node,
            region: &self.region,
            alloc_dir: &alloc_dir,
            task_dir: &local,
            secrets_dir: &secrets,
            tmp_dir: &tmp,
        };
        let mut env = task_env(&input);
        self.csi_plugin_env(task, &alloc.id, &mut env);
        let vars = interpolation_vars(&input);
        let config = serde_json::to_value(&task.config).unwrap_or_default();
        let resources = alloc.allocated_resources.tasks.get(&task.name);
        let spec = TaskSpec {
            alloc_id: alloc.id.clone(),
            task_name: task.name.clone(),
            config: interpolate_json(&config, &vars),
            env,
            user: task.user.clone(),
            alloc_dir: self.dir.root.clone(),
            task_dir: dir.dir.clone(),
            log_dir: self.dir.logs(),
            log_max_files: task.log_config.max_files.max(1),
            log_max_file_size_mb: task.log_config.max_file_size_mb.max(1),
            cpu_mhz: resources.map_or(task.resources.cpu, |r| r.cpu.cpu_shares),
            memory_mb: resources.map_or(task.resources.memory_mb, |r| r.memory.memory_mb),
            memory_max_mb: resources
                .map_or(task.resources.memory_max_mb, |r| r.memory.memory_max_mb),
            node_id: self.node.id.clone(),
            node_name: self.node.name.clone(),
            ports: port_mappings(alloc),
            volumes: crate::client::volumes::task_volumes(
                group,
                task,
                &self.node,
                &alloc.name,
                &self.csi_mounts,
            )
            .unwrap_or_default(),
            network: net.map(|n| TaskNetwork {
                netns_path: n.netns.clone(),
                sandbox_container: n.sandbox_container.clone(),
            }),
        };
        (spec, vars)
    }
}
