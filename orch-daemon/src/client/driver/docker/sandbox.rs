//! Network sandboxes for group networking (`network { mode = "bridge" }`), as Nomad's
//! docker driver makes them: one pause container per allocation (`infra_image`,
//! `network_mode = "none"`) whose network namespace the bridge hook wires with CNI and
//! the allocation's docker tasks join (`network_mode = "container:<id>"`). Exec tasks
//! enter the same namespace through its `/proc/<pid>/ns/net` path.
//!
//! Nomad's default `infra_image` comes from a registry; without one, set `infra_image`
//! to a local image whose default command keeps running (the tests build one from
//! busybox, `CMD ["sleep", "2147483647"]`).

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};

use super::DockerDriver;
use super::container::LABEL_ALLOC_ID;
use crate::client::driver::DriverError;

/// Label marking a container as an allocation's network sandbox.
pub const LABEL_SANDBOX: &str = "com.hashicorp.nomad.network_sandbox";

/// A running pause container and the network namespace it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSandbox {
    /// The pause container's ID (for `TaskNetwork.sandbox_container`, and to destroy it).
    pub container_id: String,
    /// `/proc/<pid>/ns/net` of the pause container: where CNI adds interfaces.
    pub netns_path: PathBuf,
}

fn start_err(e: impl std::fmt::Display) -> DriverError {
    DriverError::Start(format!("network sandbox: {e}"))
}

impl DockerDriver {
    /// Creates and starts the pause container of allocation `alloc_id` (named
    /// `nomad_init_<alloc_id>` as Nomad's; an old one of that name is replaced).
    pub fn create_network_sandbox(
        &self,
        alloc_id: &str,
        hostname: Option<&str>,
    ) -> Result<NetworkSandbox, DriverError> {
        let image = self.options.infra_image.clone();
        super::image::ensure(
            &self.engine,
            &image,
            false,
            None,
            self.options.pull_activity_timeout,
        )?;
        let name = format!("nomad_init_{alloc_id}");
        self.remove_named(&name)?;
        let body = ContainerCreateBody {
            image: Some(image),
            hostname: hostname.map(str::to_string),
            labels: Some(HashMap::from([
                (LABEL_ALLOC_ID.to_string(), alloc_id.to_string()),
                (LABEL_SANDBOX.to_string(), "true".to_string()),
            ])),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptions {
            name: Some(name),
            ..Default::default()
        };
        let created = self
            .engine
            .call(move |d| async move { d.create_container(Some(opts), body).await })
            .map_err(start_err)?;
        let id = created.id;
        let started = id.clone();
        if let Err(e) = self
            .engine
            .call(move |d| async move { d.start_container(&started, None).await })
        {
            let _ = self.destroy_network_sandbox(&id);
            return Err(start_err(e));
        }
        self.recover_network_sandbox(&id)
    }

    /// The sandbox of a running pause container (after a client restart); `Gone` when
    /// it no longer runs, so the caller makes a new one.
    pub fn recover_network_sandbox(
        &self,
        container_id: &str,
    ) -> Result<NetworkSandbox, DriverError> {
        let state = self.inspect_state(container_id)?;
        match state.and_then(|s| s.running.unwrap_or(false).then_some(s.pid)) {
            Some(Some(pid)) if pid > 0 => Ok(NetworkSandbox {
                container_id: container_id.to_string(),
                netns_path: PathBuf::from(format!("/proc/{pid}/ns/net")),
            }),
            _ => Err(DriverError::Gone(format!(
                "network sandbox container {container_id} is not running"
            ))),
        }
    }

    /// Removes the pause container (killing it); an already removed one is fine.
    pub fn destroy_network_sandbox(&self, container_id: &str) -> Result<(), DriverError> {
        let id = container_id.to_string();
        let opts = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self
            .engine
            .call(move |d| async move { d.remove_container(&id, Some(opts)).await })
        {
            Err(e) if !e.is_not_found() => Err(start_err(e)),
            _ => Ok(()),
        }
    }
}
