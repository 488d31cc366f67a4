//! The driver settings of the agent config: `plugin "<driver>" { config { ... } }` blocks
//! and the client's `options` that Nomad reads for drivers, turned into the
//! [`DriverOptions`] the client builds its drivers with.
//!
//! Accepted, as in Nomad: `plugin "raw_exec" { config { enabled } }`, `plugin "exec"` and
//! `plugin "java"` `{ config { allow_caps = [...] } }`, and `client { options = {
//! "user.denylist" = "root,Administrator", "user.checked_drivers" = "exec,java" } }`.
//! Anything else is refused by name rather than ignored.

use super::config::{AgentConfig, ConfigError};
use crate::client::driver::caps::CapSet;
use crate::client::driver::registry::DriverOptions;

/// The client `options` keys orch honours.
const OPTIONS: [&str; 2] = ["user.denylist", "user.checked_drivers"];

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl AgentConfig {
    /// Refuses plugin blocks and settings orch cannot honour.
    pub fn check_plugins(&self) -> Result<(), ConfigError> {
        for (name, block) in &self.plugin {
            let c = &block.config;
            let wrong = match name.as_str() {
                "raw_exec" => c.allow_caps.is_some().then_some("allow_caps"),
                "exec" | "java" => c.enabled.then_some("enabled"),
                _ => {
                    return Err(ConfigError::Flag(format!(
                        "plugin {name:?}: orch configures only the raw_exec (enabled), exec and java (allow_caps) plugins; remove this block"
                    )));
                }
            };
            if let Some(field) = wrong {
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
        self.driver_options().map(|_| ())
    }

    /// Whether the client offers `raw_exec`: configured on, or dev mode (as Nomad's).
    pub fn raw_exec_enabled(&self) -> bool {
        self.dev
            || self
                .plugin
                .get("raw_exec")
                .is_some_and(|p| p.config.enabled)
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
        })
    }
}

#[cfg(test)]
mod tests;
