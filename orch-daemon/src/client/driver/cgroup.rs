//! Cgroups for isolating drivers: one cgroup per task run, `orch/<alloc_id>-<task>` under
//! each controller, with memory, cpu and pids limits, accounting for stats and the OOM
//! kill counter for the exit result.
//!
//! Both hierarchies are supported and detected at run time: cgroup v2 when the root of
//! `/sys/fs/cgroup` lists `cgroup.controllers`, else v1 with one mount per controller
//! (`/sys/fs/cgroup/memory`, ...). A hybrid host (v1 controllers plus an empty v2 mount
//! at `/sys/fs/cgroup/unified`) is treated as v1, where the controllers are.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::DriverError;

const ROOT: &str = "/sys/fs/cgroup";

/// Which cgroup hierarchy the host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupVersion {
    /// One hierarchy per controller.
    V1,
    /// The unified hierarchy.
    V2,
}

/// Detects the usable hierarchy, `None` when there is none with a memory controller.
pub fn detect() -> Option<CgroupVersion> {
    let root = Path::new(ROOT);
    if let Ok(ctrls) = fs::read_to_string(root.join("cgroup.controllers"))
        && ctrls.split_whitespace().any(|c| c == "memory")
    {
        return Some(CgroupVersion::V2);
    }
    if root.join("memory/memory.limit_in_bytes").exists() {
        return Some(CgroupVersion::V1);
    }
    None
}

/// The limits a task runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Hard memory limit in MiB (`memory_max` if set, else `memory`).
    pub memory_hard_mb: u64,
    /// Soft limit (reclaim target) in MiB, when `memory_max` is set.
    pub memory_soft_mb: Option<u64>,
    /// `resources.cpu` in MHz, used as relative cpu shares (minimum 2).
    pub cpu_shares: u64,
    /// Maximum number of processes/threads.
    pub pids_max: u64,
}

/// A task's cgroup: the directory per controller (v1) or the one directory (v2).
/// Serialized into the task handle so a recovered driver can read stats and clean up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCgroup {
    /// Hierarchy version.
    pub version: CgroupVersion,
    /// Memory controller directory (v2: the cgroup).
    pub memory: PathBuf,
    /// cpu controller directory.
    pub cpu: PathBuf,
    /// cpuacct controller directory (v2: the cgroup).
    pub cpuacct: PathBuf,
    /// pids controller directory.
    pub pids: PathBuf,
}

fn io_err(context: String) -> impl FnOnce(io::Error) -> DriverError {
    move |source| DriverError::Io { context, source }
}

fn write(path: &Path, value: &str) -> Result<(), DriverError> {
    fs::write(path, value).map_err(io_err(format!(
        "cannot write {value:?} to {}",
        path.display()
    )))
}

impl TaskCgroup {
    /// Creates the cgroup `orch/<name>` and applies `limits`. A leftover cgroup of the same
    /// name (from a crashed run) is emptied and reused.
    pub fn create(
        version: CgroupVersion,
        name: &str,
        limits: &Limits,
    ) -> Result<TaskCgroup, DriverError> {
        let root = Path::new(ROOT);
        let cg = match version {
            CgroupVersion::V1 => TaskCgroup {
                version,
                memory: root.join("memory/orch").join(name),
                cpu: root.join("cpu/orch").join(name),
                cpuacct: root.join("cpuacct/orch").join(name),
                pids: root.join("pids/orch").join(name),
            },
            CgroupVersion::V2 => {
                let dir = root.join("orch").join(name);
                TaskCgroup {
                    version,
                    memory: dir.clone(),
                    cpu: dir.clone(),
                    cpuacct: dir.clone(),
                    pids: dir,
                }
            }
        };
        if version == CgroupVersion::V2 {
            // Controllers must be enabled in every ancestor's subtree_control.
            fs::create_dir_all(root.join("orch"))
                .map_err(io_err(format!("cannot create cgroup {ROOT}/orch")))?;
            for dir in [root.to_path_buf(), root.join("orch")] {
                for ctrl in ["+memory", "+cpu", "+pids"] {
                    let _ = fs::write(dir.join("cgroup.subtree_control"), ctrl);
                }
            }
        }
        for dir in cg.dirs() {
            fs::create_dir_all(&dir).map_err(io_err(format!(
                "cannot create cgroup {} (is the controller mounted and are we root?)",
                dir.display()
            )))?;
        }
        cg.apply(limits)?;
        Ok(cg)
    }

    /// The distinct controller directories (v2: one).
    pub fn dirs(&self) -> Vec<PathBuf> {
        let mut v = vec![
            self.memory.clone(),
            self.cpu.clone(),
            self.cpuacct.clone(),
            self.pids.clone(),
        ];
        v.dedup();
        v.sort();
        v.dedup();
        v
    }

    fn apply(&self, l: &Limits) -> Result<(), DriverError> {
        let hard = (l.memory_hard_mb.max(4) * 1024 * 1024).to_string();
        let shares = l.cpu_shares.max(2);
        match self.version {
            CgroupVersion::V1 => {
                write(&self.memory.join("memory.limit_in_bytes"), &hard)?;
                // Without swap accounting limited too, the task would swap instead of
                // being OOM-killed at its limit.
                let memsw = self.memory.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write(&memsw, &hard)?;
                }
                if let Some(soft) = l.memory_soft_mb {
                    write(
                        &self.memory.join("memory.soft_limit_in_bytes"),
                        &(soft * 1024 * 1024).to_string(),
                    )?;
                }
                write(&self.cpu.join("cpu.shares"), &shares.to_string())?;
                write(&self.pids.join("pids.max"), &l.pids_max.to_string())?;
            }
            CgroupVersion::V2 => {
                write(&self.memory.join("memory.max"), &hard)?;
                let swap = self.memory.join("memory.swap.max");
                if swap.exists() {
                    write(&swap, "0")?;
                }
                if let Some(soft) = l.memory_soft_mb {
                    write(
                        &self.memory.join("memory.low"),
                        &(soft * 1024 * 1024).to_string(),
                    )?;
                }
                // The conversion runc uses from shares [2, 262144] to weight [1, 10000].
                let weight = 1 + ((shares.min(262_144) - 2) * 9999) / 262_142;
                write(&self.cpu.join("cpu.weight"), &weight.to_string())?;
                write(&self.pids.join("pids.max"), &l.pids_max.to_string())?;
            }
        }
        Ok(())
    }

    /// The `cgroup.procs` files a task process writes `0` to, to join (see the shim).
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs()
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// Pids in the cgroup (memory controller: every task process joins it).
    pub fn pids(&self) -> Vec<i32> {
        fs::read_to_string(self.memory.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Sends SIGKILL to every process in the cgroup (processes that left the task's
    /// process group included).
    pub fn kill_all(&self) {
        for pid in self.pids() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }

    /// How many times the kernel's OOM killer killed a process of this cgroup.
    pub fn oom_kills(&self) -> u64 {
        let file = match self.version {
            CgroupVersion::V1 => "memory.oom_control",
            CgroupVersion::V2 => "memory.events",
        };
        let text = fs::read_to_string(self.memory.join(file)).unwrap_or_default();
        let kills = keyed(&text, "oom_kill").unwrap_or(0);
        if kills == 0 && self.version == CgroupVersion::V1 {
            // Old kernels lack the counter; `under_oom` at least says it happened.
            return keyed(&text, "under_oom").unwrap_or(0);
        }
        kills
    }

    /// Memory and cpu usage, as Nomad's executor reports them from cgroups.
    pub fn usage(&self) -> super::TaskUsage {
        let read = |p: PathBuf| fs::read_to_string(p).unwrap_or_default();
        let num = |p: PathBuf| read(p).trim().parse::<u64>().unwrap_or(0);
        let mut u = super::TaskUsage::default();
        match self.version {
            CgroupVersion::V1 => {
                let stat = read(self.memory.join("memory.stat"));
                u.rss_bytes = keyed(&stat, "total_rss")
                    .or_else(|| keyed(&stat, "rss"))
                    .unwrap_or(0);
                u.memory_usage_bytes = num(self.memory.join("memory.usage_in_bytes"));
                u.cpu_total_ns = num(self.cpuacct.join("cpuacct.usage"));
                let cpu = read(self.cpuacct.join("cpuacct.stat"));
                let tick_ns = 1_000_000_000 / super::procfs::clock_ticks();
                u.cpu_user_ns = keyed(&cpu, "user").unwrap_or(0) * tick_ns;
                u.cpu_system_ns = keyed(&cpu, "system").unwrap_or(0) * tick_ns;
            }
            CgroupVersion::V2 => {
                let stat = read(self.memory.join("memory.stat"));
                u.rss_bytes = keyed(&stat, "anon").unwrap_or(0);
                u.memory_usage_bytes = num(self.memory.join("memory.current"));
                let cpu = read(self.cpu.join("cpu.stat"));
                u.cpu_total_ns = keyed(&cpu, "usage_usec").unwrap_or(0) * 1000;
                u.cpu_user_ns = keyed(&cpu, "user_usec").unwrap_or(0) * 1000;
                u.cpu_system_ns = keyed(&cpu, "system_usec").unwrap_or(0) * 1000;
            }
        }
        u.measured = ["RSS", "Usage", "Total Ticks", "User Mode", "System Mode"]
            .map(String::from)
            .to_vec();
        u
    }

    /// Kills what is left and removes the directories, retrying briefly while the kernel
    /// finishes tearing the processes down. Missing directories are fine.
    pub fn destroy(&self) -> Result<(), DriverError> {
        let deadline = Instant::now() + Duration::from_secs(5);
        for dir in self.dirs() {
            loop {
                self.kill_all();
                match fs::remove_dir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) if Instant::now() >= deadline => {
                        return Err(DriverError::Io {
                            context: format!(
                                "cannot remove cgroup {} (processes still in it?)",
                                dir.display()
                            ),
                            source: e,
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        Ok(())
    }
}

/// The value of `key` in a `key value` per line file (memory.stat, cpu.stat, ...).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next() == Some(key))
            .then(|| it.next()?.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests;
