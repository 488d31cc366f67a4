//! The driver settings of the agent config: `plugin "<driver>" { config { ... } }` blocks
//! and the client's `options` that Nomad reads for drivers, turned into the
//! [`DriverOptions`] the client builds its drivers with.
//!
//! Accepted, as in Nomad: `plugin "raw_exec" { config { enabled } }`, `plugin "exec"` and
//! `plugin "java"` `{ config { allow_caps = [...] } }`, `plugin "docker" { config {
//! endpoint, allow_privileged, allow_caps, volumes { enabled }, gc { image, image_delay,
//! container }, infra_image, pull_activity_timeout } }`, and `client { options = {
//! "user.denylist" = "root,Administrator", "user.checked_drivers" = "exec,java" } }`.
//! The NVIDIA device plugin's block, under any of its names (`plugin "nvidia-gpu"`,
//! `"nomad-device-nvidia"`, `"nvidia"`): `config { enabled, ignored_gpu_ids,
//! fingerprint_period }`, into [`NvidiaSettings`].
//! Anything else is refused by name rather than ignored.

use std::time::Duration;

use serde::Deserialize;

use super::config::{AgentConfig, ConfigError};
use crate::client::driver::caps::CapSet;
use crate::client::driver::docker::DockerOptions;
use crate::client::driver::registry::DriverOptions;

/// A `plugin "<driver>"` block: `raw_exec`'s `enabled`, `exec`'s and `java`'s
/// `allow_caps`, `docker`'s settings; any other plugin or setting is refused by name (see
/// `AgentConfig::check_plugins` in `agent::plugins`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginBlock {
    /// The driver's settings.
    pub config: PluginSettings,
}

/// A driver plugin's `config` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginSettings {
    /// `raw_exec`: run tasks unisolated as the agent's user (off unless set, as in
    /// Nomad); the NVIDIA plugin: fingerprint GPUs (on unless set false).
    pub enabled: Option<bool>,
    /// NVIDIA: GPU UUIDs not to offer.
    pub ignored_gpu_ids: Option<Vec<String>>,
    /// NVIDIA: how often GPUs are fingerprinted again (Go duration, default `1m`).
    pub fingerprint_period: Option<String>,
    /// `exec` / `java` / `docker`: the capabilities tasks may have (default Nomad's set;
    /// `"all"`).
    pub allow_caps: Option<Vec<String>>,
    /// `docker`: the engine's socket (`unix:///var/run/docker.sock`).
    pub endpoint: Option<String>,
    /// `docker`: allow `privileged` and host pid/ipc namespaces (off, as in Nomad).
    pub allow_privileged: Option<bool>,
    /// `docker`: `volumes { enabled }`.
    pub volumes: Option<DockerVolumes>,
    /// `docker`: `gc { image, image_delay, container }`.
    pub gc: Option<DockerGc>,
    /// `docker`: the pause container's image for group networks.
    pub infra_image: Option<String>,
    /// `docker`: how long a pull may hear nothing from the engine (Go duration).
    pub pull_activity_timeout: Option<String>,
}

/// The docker plugin's `volumes` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DockerVolumes {
    /// Tasks may bind host paths (off, as in Nomad).
    pub enabled: bool,
}

/// The docker plugin's `gc` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DockerGc {
    /// Remove images no container uses (default true).
    pub image: Option<bool>,
    /// Wait this long first (Go duration, default `3m`).
    pub image_delay: Option<String>,
    /// Remove a task's container when it is destroyed (default true).
    pub container: Option<bool>,
}

/// The client `options` keys orch honours.
const OPTIONS: [&str; 2] = ["user.denylist", "user.checked_drivers"];

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The settings a plugin block sets, by name.
fn settings_set(c: &PluginSettings) -> Vec<&'static str> {
    [
        ("enabled", c.enabled.is_some()),
        ("ignored_gpu_ids", c.ignored_gpu_ids.is_some()),
        ("fingerprint_period", c.fingerprint_period.is_some()),
        ("allow_caps", c.allow_caps.is_some()),
        ("endpoint", c.endpoint.is_some()),
        ("allow_privileged", c.allow_privileged.is_some()),
        ("volumes", c.volumes.is_some()),
        ("gc", c.gc.is_some()),
        ("infra_image", c.infra_image.is_some()),
        ("pull_activity_timeout", c.pull_activity_timeout.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The settings each plugin accepts.
fn accepted(plugin: &str) -> Option<&'static [&'static str]> {
    match plugin {
        "raw_exec" => Some(&["enabled"]),
        "exec" | "java" => Some(&["allow_caps"]),
        "docker" => Some(&[
            "endpoint",
            "allow_privileged",
            "allow_caps",
            "volumes",
            "gc",
            "infra_image",
            "pull_activity_timeout",
        ]),
        NVIDIA_A | NVIDIA_B | NVIDIA_C => {
            Some(&["enabled", "ignored_gpu_ids", "fingerprint_period"])
        }
        _ => None,
    }
}

/// The NVIDIA device plugin's names: Nomad's built-in one, the external plugin's, and
/// the name its README uses.
const NVIDIA_A: &str = "nvidia-gpu";
const NVIDIA_B: &str = "nomad-device-nvidia";
const NVIDIA_C: &str = "nvidia";

/// The NVIDIA device plugin's settings, Nomad's defaults when no block sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvidiaSettings {
    /// Fingerprint GPUs at all.
    pub enabled: bool,
    /// UUIDs of GPUs never offered.
    pub ignored_gpu_ids: std::collections::BTreeSet<String>,
    /// How often GPUs are fingerprinted again.
    pub fingerprint_period: Duration,
}

impl Default for NvidiaSettings {
    fn default() -> Self {
        NvidiaSettings {
            enabled: true,
            ignored_gpu_ids: Default::default(),
            fingerprint_period: Duration::from_secs(60),
        }
    }
}

/// Shortest `fingerprint_period` accepted (each fingerprint runs `nvidia-smi`).
const MIN_FINGERPRINT_PERIOD: Duration = Duration::from_secs(1);

fn duration(field: &str, v: &Option<String>, default: Duration) -> Result<Duration, ConfigError> {
    plugin_duration("docker", field, v, default)
}

/// A plugin's Go duration setting, or `default`; an error names plugin and field.
fn plugin_duration(
    plugin: &str,
    field: &str,
    v: &Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(s) = v else { return Ok(default) };
    let n = orch_core::duration::parse_go_duration(s)
        .map_err(|e| ConfigError::Flag(format!("plugin {plugin:?}: config.{field}: {e}")))?;
    u64::try_from(n).map(Duration::from_nanos).map_err(|_| {
        ConfigError::Flag(format!(
            "plugin {plugin:?}: config.{field} must not be negative"
        ))
    })
}

impl AgentConfig {
    /// Refuses plugin blocks and settings orch cannot honour.
    pub fn check_plugins(&self) -> Result<(), ConfigError> {
        for (name, block) in &self.plugin {
            let Some(ok) = accepted(name) else {
                return Err(ConfigError::Flag(format!(
                    "plugin {name:?}: orch configures only the raw_exec, exec, java and docker plugins and the NVIDIA device plugin (nvidia-gpu); remove this block"
                )));
            };
            if let Some(field) = settings_set(&block.config)
                .into_iter()
                .find(|f| !ok.contains(f))
            {
                return Err(ConfigError::Flag(format!(
                    "plugin {name:?}: config.{field} is not an option of this driver; remove it"
                )));
            }
        }
        if let Some(k) = self
            .client
            .options
            .keys()
            .find(|k| !OPTIONS.contains(&k.as_str()))
        {
            return Err(ConfigError::Flag(format!(
                "client.options: {k:?} is not supported; orch reads only {}",
                OPTIONS.join(", ")
            )));
        }
        self.nvidia_settings()?;
        self.driver_options().map(|_| ())
    }

    /// Whether the client offers `raw_exec`: configured on, or dev mode (as Nomad's).
    pub fn raw_exec_enabled(&self) -> bool {
        self.dev
            || self
                .plugin
                .get("raw_exec")
                .is_some_and(|p| p.config.enabled == Some(true))
    }

    /// The NVIDIA plugin's settings (at most one of its names may have a block).
    pub fn nvidia_settings(&self) -> Result<NvidiaSettings, ConfigError> {
        let blocks: Vec<(&String, &PluginBlock)> = self
            .plugin
            .iter()
            .filter(|(n, _)| [NVIDIA_A, NVIDIA_B, NVIDIA_C].contains(&n.as_str()))
            .collect();
        let d = NvidiaSettings::default();
        let [(name, block)] = blocks[..] else {
            if blocks.len() > 1 {
                return Err(ConfigError::Flag(format!(
                    "plugin {:?} and plugin {:?} both configure the NVIDIA device plugin; keep one",
                    blocks[0].0, blocks[1].0
                )));
            }
            return Ok(d);
        };
        let c = &block.config;
        let period = plugin_duration(
            name,
            "fingerprint_period",
            &c.fingerprint_period,
            d.fingerprint_period,
        )?;
        if period < MIN_FINGERPRINT_PERIOD {
            return Err(ConfigError::Flag(format!(
                "plugin {name:?}: config.fingerprint_period must be at least 1s (each fingerprint runs nvidia-smi)"
            )));
        }
        Ok(NvidiaSettings {
            enabled: c.enabled.unwrap_or(true),
            ignored_gpu_ids: c.ignored_gpu_ids.iter().flatten().cloned().collect(),
            fingerprint_period: period,
        })
    }

    fn allow_caps(&self, driver: &str) -> Result<CapSet, ConfigError> {
        let Some(names) = self
            .plugin
            .get(driver)
            .and_then(|p| p.config.allow_caps.as_ref())
        else {
            return Ok(CapSet::defaults());
        };
        CapSet::parse("allow_caps", names)
            .map_err(|e| ConfigError::Flag(format!("plugin {driver:?}: {e}")))
    }

    /// The drivers' settings from the plugin blocks and client options.
    pub fn driver_options(&self) -> Result<DriverOptions, ConfigError> {
        let defaults = DriverOptions::default();
        let opt = |k: &str| self.client.options.get(k).map(|v| list(v));
        Ok(DriverOptions {
            raw_exec: self.raw_exec_enabled(),
            exec_allow_caps: self.allow_caps("exec")?,
            java_allow_caps: self.allow_caps("java")?,
            user_denylist: opt("user.denylist").unwrap_or(defaults.user_denylist),
            user_checked_drivers: opt("user.checked_drivers")
                .unwrap_or(defaults.user_checked_drivers),
            docker: self.docker_options()?,
        })
    }

    /// `plugin "docker" { config { ... } }` over Nomad's defaults.
    fn docker_options(&self) -> Result<DockerOptions, ConfigError> {
        let d = DockerOptions::default();
        let Some(c) = self.plugin.get("docker").map(|p| &p.config) else {
            return Ok(d);
        };
        let endpoint = c.endpoint.clone().unwrap_or(d.endpoint);
        DockerOptions::socket_path(&endpoint)
            .map_err(|e| ConfigError::Flag(format!("plugin \"docker\": config.{e}")))?;
        let gc = c.gc.clone().unwrap_or_default();
        Ok(DockerOptions {
            endpoint,
            allow_privileged: c.allow_privileged.unwrap_or(false),
            allow_caps: self.allow_caps("docker")?,
            volumes_enabled: c.volumes.as_ref().is_some_and(|v| v.enabled),
            gc_container: gc.container.unwrap_or(d.gc_container),
            gc_image: gc.image.unwrap_or(d.gc_image),
            gc_image_delay: duration("gc.image_delay", &gc.image_delay, d.gc_image_delay)?,
            infra_image: c.infra_image.clone().unwrap_or(d.infra_image),
            pull_activity_timeout: duration(
                "pull_activity_timeout",
                &c.pull_activity_timeout,
                d.pull_activity_timeout,
            )?,
        })
    }
}

#[cfg(test)]
mod tests;
