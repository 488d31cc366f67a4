//! Linux capabilities of isolated tasks (exec, java), with Nomad's semantics.
//!
//! A task gets `(defaults ∩ allow_caps) − cap_drop ∪ cap_add`, where the defaults are
//! Nomad's set for exec (Docker's defaults without `net_raw`), `allow_caps` is the
//! plugin's option (default: the same set) and every `cap_add` must be allowed. The
//! isolating init stage puts exactly that set in the bounding, permitted, effective,
//! inheritable and ambient sets and sets `PR_SET_NO_NEW_PRIVS`, so nothing the task
//! executes (setuid binaries, file capabilities) can gain more.
//!
//! Names are accepted as Nomad accepts them: any case, with or without `CAP_`, and
//! `all` for every capability.

use serde::{Deserialize, Serialize};

use super::DriverError;

/// Capability names by number (`capabilities(7)`, up to `CAP_CHECKPOINT_RESTORE`).
pub const NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// Nomad's default capabilities for exec and java (`allow_caps`' default, too).
pub const DEFAULTS: [&str; 13] = [
    "audit_write",
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "kill",
    "mknod",
    "net_bind_service",
    "setfcap",
    "setgid",
    "setpcap",
    "setuid",
    "sys_chroot",
];

/// A set of capabilities as the kernel's bit mask (bit `n` = capability `n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CapSet(pub u64);

impl CapSet {
    /// Every capability orch knows.
    pub const ALL: CapSet = CapSet((1u64 << NAMES.len()) - 1);

    /// Nomad's defaults ([`DEFAULTS`]).
    pub fn defaults() -> CapSet {
        CapSet(
            DEFAULTS
                .iter()
                .filter_map(|n| number(n))
                .fold(0, |m, c| m | (1 << c)),
        )
    }

    /// Whether capability `cap` is in the set.
    pub fn contains(self, cap: u32) -> bool {
        cap < 64 && self.0 & (1 << cap) != 0
    }

    /// The names in the set, lowercase without `cap_`.
    pub fn names(self) -> Vec<&'static str> {
        (0..NAMES.len() as u32)
            .filter(|c| self.contains(*c))
            .map(|c| NAMES[c as usize])
            .collect()
    }

    /// Parses a list of names (`all` included); `field` names the list in errors.
    pub fn parse(field: &str, names: &[String]) -> Result<CapSet, DriverError> {
        let mut mask = 0u64;
        for (i, name) in names.iter().enumerate() {
            if normalize(name) == "all" {
                mask = CapSet::ALL.0;
                continue;
            }
            let cap = number(name).ok_or_else(|| DriverError::Config {
                field: format!("{field}[{i}]"),
                message: format!(
                    "unknown capability {name:?}; use a name from capabilities(7) such as \"net_raw\" or \"sys_time\" (with or without CAP_), or \"all\""
                ),
            })?;
            mask |= 1 << cap;
        }
        Ok(CapSet(mask))
    }

    /// The task's set from the plugin's `allow` and the task's `cap_add` / `cap_drop`,
    /// as Nomad computes it; a `cap_add` outside `allow` is refused naming them.
    pub fn for_task(allow: CapSet, add: CapSet, drop: CapSet) -> Result<CapSet, DriverError> {
        Self::for_driver("exec", allow, add, drop)
    }

    /// [`CapSet::for_task`] for the plugin `driver` (named in the error).
    pub fn for_driver(
        driver: &str,
        allow: CapSet,
        add: CapSet,
        drop: CapSet,
    ) -> Result<CapSet, DriverError> {
        let missing = CapSet(add.0 & !allow.0);
        if missing.0 != 0 {
            return Err(DriverError::Config {
                field: "cap_add".into(),
                message: format!(
                    "the {driver} plugin's allow_caps does not allow {}; remove them from cap_add or add them to allow_caps in the client's plugin \"{driver}\" block",
                    missing.names().join(", ")
                ),
            });
        }
        Ok(CapSet((CapSet::defaults().0 & allow.0 & !drop.0) | add.0))
    }
}

fn normalize(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    lower
        .strip_prefix("cap_")
        .map_or(lower.clone(), str::to_string)
}

/// The number of capability `name` (any case, `CAP_` optional).
pub fn number(name: &str) -> Option<u32> {
    let n = normalize(name);
    NAMES.iter().position(|c| *c == n).map(|p| p as u32)
}

/// The highest capability this kernel knows (`/proc/sys/kernel/cap_last_cap`), or the
/// highest orch knows when that cannot be read.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
}

#[cfg(test)]
mod tests;
