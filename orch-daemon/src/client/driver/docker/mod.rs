//! `docker`: Nomad's docker task driver on a real Docker Engine (or podman's
//! Docker-compatible API), over its unix socket through `bollard`.
//!
//! Unlike the other drivers, tasks are not supervised by `orch task-shim`: the engine
//! parents the container, so it outlives the client by itself. The [`TaskHandle`]'s
//! state holds the container ID; a restarted client inspects that container and
//! resumes copying its logs (see [`logs`]).
//!
//! Layout:
//! - [`options`]: the plugin's settings (`endpoint`, `allow_privileged`, `allow_caps`,
//!   `volumes`, `gc`, `infra_image`, `pull_activity_timeout`).
//! - [`engine`]: the Engine API client and the driver's own runtime.
//! - [`config`]: the task config, with Nomad's option names.
//! - [`container`]: the container Nomad would create for a task.
//! - [`image`]: `load`, pulls, image garbage collection.
//! - [`logs`]: the container's output into Nomad's rotated log files.
//! - [`sandbox`]: pause containers holding an allocation's network namespace.
//! - [`stats`]: the engine's stats as a [`TaskUsage`].

pub mod config;
pub mod container;
pub mod engine;
pub mod image;
pub mod logs;
pub mod options;
pub mod sandbox;
pub mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bollard::models::ContainerState;
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, RemoveContainerOptions,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::control::parse_signal;
use super::{Driver, DriverError, DriverFingerprint, ExitResult, TaskHandle, TaskSpec, TaskUsage};
use config::TaskConfig;
use engine::{Engine, EngineError};
use logs::{LogPumps, LogTarget};
pub use options::DockerOptions;
pub use sandbox::NetworkSandbox;

/// How long a stopped container's log pump may take to write the rest.
const LOG_DRAIN: Duration = Duration::from_secs(2);

/// What the handle keeps (`TaskHandle.state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DockerState {
    container_id: String,
    image: String,
    image_id: String,
    logs: LogTarget,
}

impl DockerState {
    fn decode(h: &TaskHandle) -> Result<DockerState, DriverError> {
        serde_json::from_value(h.state.clone()).map_err(|e| {
            DriverError::Gone(format!("the task handle holds no docker container ({e})"))
        })
    }
}

/// The docker driver.
pub struct DockerDriver {
    options: DockerOptions,
    engine: Arc<Engine>,
    pumps: LogPumps,
    seen: AtomicBool,
}

impl std::fmt::Debug for DockerDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerDriver")
            .field("options", &self.options)
            .finish()
    }
}

fn engine_err(e: EngineError) -> DriverError {
    DriverError::Start(e.to_string())
}

impl DockerDriver {
    /// A driver for the engine at `options.endpoint` (contacted on first use).
    pub fn new(options: DockerOptions) -> Result<DockerDriver, String> {
        Ok(DockerDriver {
            engine: Engine::new(&options.endpoint)?,
            options,
            pumps: LogPumps::default(),
            seen: AtomicBool::new(false),
        })
    }

    /// The plugin settings it runs with.
    pub fn options(&self) -> &DockerOptions {
        &self.options
    }

    /// The container's state, `None` when the engine has no such container.
    fn inspect_state(&self, id: &str) -> Result<Option<ContainerState>, DriverError> {
        let id = id.to_string();
        match self
            .engine
            .call(move |d| async move { d.inspect_container(&id, None).await })
        {
            Ok(c) => Ok(Some(c.state.unwrap_or_default())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(engine_err(e)),
        }
    }

    /// Removes a container by name or ID, if there is one (a leftover of an earlier
    /// attempt of the same task, as Nomad purges them).
    fn remove_named(&self, name: &str) -> Result<(), DriverError> {
        let name = name.to_string();
        let opts = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self
            .engine
            .call(move |d| async move { d.remove_container(&name, Some(opts)).await })
        {
            Err(e) if !e.is_not_found() => Err(engine_err(e)),
            _ => Ok(()),
        }
    }

    fn kill(&self, id: &str, signal: i32) -> Result<(), DriverError> {
        let id = id.to_string();
        let opts = KillContainerOptions {
            signal: signal.to_string(),
        };
        match self
            .engine
            .call(move |d| async move { d.kill_container(&id, Some(opts)).await })
        {
            // 409: the container is not running any more.
            Err(EngineError::Api { status: 409, .. }) => Ok(()),
            Err(e) if e.is_not_found() => Err(DriverError::Gone(e.to_string())),
            Err(e) => Err(DriverError::Start(format!(
                "signalling the container failed: {e}"
            ))),
            Ok(()) => Ok(()),
        }
    }

    /// Waits up to `timeout` for the container to stop; whether it did.
    fn wait_stopped(&self, id: &str, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.inspect_state(id) {
                Ok(Some(s)) if s.running.unwrap_or(false) => {}
                Ok(_) => return true,
                Err(_) => {}
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn exit_of(state: &ContainerState) -> ExitResult {
        let error = state.error.clone().filter(|e| !e.is_empty());
        ExitResult {
            exit_code: i32::try_from(state.exit_code.unwrap_or(0)).unwrap_or(-1),
            signal: 0,
            oom_killed: state.oom_killed.unwrap_or(false),
            err: error,
        }
    }

    fn create_and_start(&self, spec: &TaskSpec, cfg: &TaskConfig) -> Result<String, DriverError> {
        let body = container::create_body(spec, cfg, &self.options)?;
        let name = container::container_name(spec);
        self.remove_named(&name)?;
        let opts = CreateContainerOptions {
            name: Some(name),
            ..Default::default()
        };
        let created = self
            .engine
            .call(move |d| async move { d.create_container(Some(opts), body).await })
            .map_err(|e| DriverError::Start(format!("creating the container failed: {e}")))?;
        let id = created.id;
        let started = id.clone();
        if let Err(e) = self
            .engine
            .call(move |d| async move { d.start_container(&started, None).await })
        {
            let _ = self.remove_named(&id);
            return Err(DriverError::Start(format!(
                "starting the container failed: {e}"
            )));
        }
        Ok(id)
    }

    fn fingerprint_engine(&self) -> Result<DriverFingerprint, EngineError> {
        let version = self.engine.call(|d| async move { d.version().await })?;
        let info = self.engine.call(|d| async move { d.info().await })?;
        let bridge = self
            .engine
            .call(|d| async move { d.inspect_network("bridge", None).await });
        let mut attributes = std::collections::BTreeMap::from([
            ("docker".to_string(), "1".to_string()),
            (
                "docker.version".to_string(),
                version.version.unwrap_or_default(),
            ),
        ]);
        let mut runtimes: Vec<String> = info.runtimes.unwrap_or_default().into_keys().collect();
        runtimes.sort();
        attributes.insert("docker.runtimes".into(), runtimes.join(","));
        let gateway = bridge.ok().and_then(|n| {
            n.ipam?
                .config?
                .into_iter()
                .find_map(|c| c.gateway.filter(|g| !g.is_empty()))
        });
        if let Some(ip) = gateway {
            attributes.insert("docker.bridge_ip".into(), ip);
        }
        if let Some(v) = info.cgroup_version {
            attributes.insert(
                "docker.cgroup_version".into(),
                format!("{v:?}").to_lowercase(),
            );
        }
        if self.options.allow_privileged {
            attributes.insert("docker.privileged.enabled".into(), "true".into());
        }
        if self.options.volumes_enabled {
            attributes.insert("docker.volumes.enabled".into(), "true".into());
        }
        Ok(DriverFingerprint {
            detected: true,
            healthy: true,
            health_description: "Healthy".into(),
            attributes,
        })
    }
}

impl Driver for DockerDriver {
    fn name(&self) -> &str {
        "docker"
    }

    fn fingerprint(&self) -> DriverFingerprint {
        match self.fingerprint_engine() {
            Ok(fp) => {
                self.seen.store(true, Ordering::Relaxed);
                fp
            }
            Err(e) => {
                self.engine.reset();
                DriverFingerprint {
                    detected: self.seen.load(Ordering::Relaxed),
                    healthy: false,
                    health_description: e.to_string(),
                    attributes: Default::default(),
                }
            }
        }
    }

    fn validate_config(&self, config: &Value) -> Result<(), DriverError> {
        let cfg = TaskConfig::parse(config)?;
        container::check(&cfg, &self.options)
    }

    fn start(&self, spec: &TaskSpec) -> Result<TaskHandle, DriverError> {
        let cfg = TaskConfig::parse(&spec.config)?;
        container::check(&cfg, &self.options)?;
        let image_id = image::ensure(
            &self.engine,
            &cfg.image,
            cfg.force_pull,
            cfg.load.as_deref().map(|f| (spec.task_dir.as_path(), f)),
            self.options.pull_activity_timeout,
        )?;
        let id = self.create_and_start(spec, &cfg)?;
        let state = DockerState {
            container_id: id.clone(),
            image: cfg.image.clone(),
            image_id,
            logs: LogTarget::of(spec),
        };
        self.pumps.ensure(&self.engine, &id, &state.logs);
        Ok(TaskHandle {
            driver: self.name().to_string(),
            started_at: crate::clock::now_nanos(),
            state: serde_json::to_value(&state).unwrap_or_default(),
        })
    }

    fn recover(&self, handle: &TaskHandle) -> Result<(), DriverError> {
        let st = DockerState::decode(handle)?;
        match self.inspect_state(&st.container_id) {
            Ok(Some(_)) => {
                self.pumps.ensure(&self.engine, &st.container_id, &st.logs);
                Ok(())
            }
            Ok(None) => Err(DriverError::Gone(format!(
                "container {} no longer exists",
                st.container_id
            ))),
            // The engine is away, not the container: keep the handle (starting the task
            // again would replace a container that may be running); try_wait follows up.
            Err(e) => {
                tracing::warn!(container = %st.container_id, error = %e, "reattaching without the engine; waiting for it");
                Ok(())
            }
        }
    }

    fn try_wait(&self, handle: &TaskHandle) -> Result<Option<ExitResult>, DriverError> {
        let st = DockerState::decode(handle)?;
        // The log stream ends when the container stops: until then, no need to ask.
        if self.pumps.following(&st.container_id) {
            return Ok(None);
        }
        match self.inspect_state(&st.container_id) {
            Ok(Some(s)) if s.running.unwrap_or(false) => {
                // Started now if recover found no engine to follow the logs from.
                self.pumps.ensure(&self.engine, &st.container_id, &st.logs);
                Ok(None)
            }
            Ok(Some(s)) => {
                self.pumps.drain(&st.container_id, LOG_DRAIN);
                Ok(Some(Self::exit_of(&s)))
            }
            Ok(None) => Ok(Some(ExitResult {
                exit_code: -1,
                err: Some(format!(
                    "container {} was removed behind the client's back",
                    st.container_id
                )),
                ..Default::default()
            })),
            // The engine is away: the container may well run on; ask again later.
            Err(e) => {
                tracing::debug!(error = %e, "cannot inspect the container; waiting");
                Ok(None)
            }
        }
    }

    fn signal(&self, handle: &TaskHandle, signal: &str) -> Result<(), DriverError> {
        let st = DockerState::decode(handle)?;
        self.kill(&st.container_id, parse_signal(signal)?)
    }

    fn stop(
        &self,
        handle: &TaskHandle,
        signal: &str,
        timeout: Duration,
    ) -> Result<ExitResult, DriverError> {
        let st = DockerState::decode(handle)?;
        let id = &st.container_id;
        self.kill(id, parse_signal(signal)?)?;
        if !self.wait_stopped(id, timeout) {
            self.kill(id, libc::SIGKILL)?;
            self.wait_stopped(id, Duration::from_secs(30));
        }
        self.pumps.drain(id, LOG_DRAIN);
        match self.inspect_state(id)? {
            Some(s) => Ok(Self::exit_of(&s)),
            None => Err(DriverError::Gone(format!(
                "container {id} vanished while stopping"
            ))),
        }
    }

    fn stats(&self, handle: &TaskHandle) -> Result<Option<TaskUsage>, DriverError> {
        let st = DockerState::decode(handle)?;
        stats::sample(&self.engine, &st.container_id)
    }

    fn exec_target(&self, handle: &TaskHandle) -> Result<super::ExecTarget, DriverError> {
        let st = DockerState::decode(handle)?;
        Ok(super::ExecTarget::Container {
            socket: self.engine.socket().to_string(),
            id: st.container_id,
        })
    }

    fn destroy(&self, handle: &TaskHandle) -> Result<(), DriverError> {
        let st = DockerState::decode(handle)?;
        self.pumps.drain(&st.container_id, LOG_DRAIN);
        self.pumps.remove(&st.container_id);
        if self.options.gc_container {
            self.remove_named(&st.container_id)?;
            if self.options.gc_image {
                image::collect_later(
                    &self.engine,
                    st.image,
                    st.image_id,
                    self.options.gc_image_delay,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
