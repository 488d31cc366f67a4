//! The docker plugin's settings (`plugin "docker" { config { ... } }`), as the agent
//! hands them to the driver. Parsed and checked in `agent::plugins`; the defaults are
//! Nomad's, except that they are secure: no privileged containers and no host binds
//! until the operator turns them on.

use std::time::Duration;

use crate::client::driver::caps::CapSet;

/// The engine endpoint Nomad uses on Unix.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";

/// Nomad's default `infra_image` (the pause container of bridge networking). No registry
/// may be reachable: operators (and the tests) set `infra_image` to a local image then.
pub const DEFAULT_INFRA_IMAGE: &str = "registry.k8s.io/pause-amd64:3.3";

/// What the docker driver may do on this client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerOptions {
    /// The engine's unix socket, `unix:///path` (default [`DEFAULT_ENDPOINT`]).
    pub endpoint: String,
    /// `allow_privileged`: tasks may set `privileged`, `pid_mode`/`ipc_mode = "host"`.
    pub allow_privileged: bool,
    /// `allow_caps`: capabilities tasks may add (default Nomad's set).
    pub allow_caps: CapSet,
    /// `volumes { enabled }`: tasks may bind host paths outside their allocation.
    pub volumes_enabled: bool,
    /// `gc { container }`: remove a task's container when the task is destroyed.
    pub gc_container: bool,
    /// `gc { image }`: remove an image no container uses any more.
    pub gc_image: bool,
    /// `gc { image_delay }`: how long an unused image is kept first (Nomad: 3m).
    pub gc_image_delay: Duration,
    /// `infra_image`: the image of network sandbox (pause) containers.
    pub infra_image: String,
    /// `pull_activity_timeout`: a pull that hears nothing from the engine this long fails.
    pub pull_activity_timeout: Duration,
}

impl Default for DockerOptions {
    fn default() -> Self {
        DockerOptions {
            endpoint: DEFAULT_ENDPOINT.into(),
            allow_privileged: false,
            allow_caps: CapSet::defaults(),
            volumes_enabled: false,
            gc_container: true,
            gc_image: true,
            gc_image_delay: Duration::from_secs(180),
            infra_image: DEFAULT_INFRA_IMAGE.into(),
            pull_activity_timeout: Duration::from_secs(120),
        }
    }
}

impl DockerOptions {
    /// The socket path of `endpoint`, or why orch cannot use it (only unix sockets:
    /// orch's docker driver has no TLS client for `tcp://` engines).
    pub fn socket_path(endpoint: &str) -> Result<String, String> {
        match endpoint.strip_prefix("unix://") {
            Some(p) if p.starts_with('/') => Ok(p.to_string()),
            _ => Err(format!(
                "endpoint {endpoint:?}: orch's docker driver reaches the engine only over a unix socket; use \"unix:///path/to/docker.sock\""
            )),
        }
    }
}
