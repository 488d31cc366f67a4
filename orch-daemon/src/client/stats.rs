//! Resource usage, sampled once a second as Nomad's clients do: per task from its driver
//! (cgroup or /proc), cpu percent from the change since the previous sample; and the
//! host's cpu, memory, disk and uptime. Feeds `/v1/client/allocation/:id/stats`,
//! `/v1/client/stats` and the autoscaler's `nomad` metrics source.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use super::driver::TaskUsage;

/// The last sample of one task.
#[derive(Debug, Clone)]
pub struct TaskSample {
    /// Usage as the driver reported it.
    pub usage: TaskUsage,
    /// Percent of one core used since the previous sample.
    pub cpu_percent: f64,
    /// MHz used (`percent` × the node's clock), Nomad's `TotalTicks`.
    pub cpu_ticks: f64,
    /// When taken, Unix nanoseconds.
    pub at: i64,
    taken: Instant,
}

/// Samples by allocation and task.
#[derive(Debug, Default)]
pub struct StatsCache {
    tasks: BTreeMap<(String, String), TaskSample>,
    host_cpu: Option<(Vec<CpuTimes>, Instant)>,
    host_cpu_percent: Vec<(f64, f64, f64)>,
}

/// `/proc/stat` counters of one cpu (user, system, idle, total), in clock ticks.
#[derive(Debug, Clone, Copy, Default)]
struct CpuTimes {
    user: u64,
    system: u64,
    idle: u64,
    total: u64,
}

impl StatsCache {
    /// Records a new usage sample of a task, computing its cpu rate.
    pub fn record(&mut self, alloc: &str, task: &str, usage: TaskUsage, mhz: f64) {
        let key = (alloc.to_string(), task.to_string());
        let now = Instant::now();
        let percent = match self.tasks.get(&key) {
            Some(prev) => {
                let dt = now.duration_since(prev.taken).as_nanos() as f64;
                let used = usage.cpu_total_ns.saturating_sub(prev.usage.cpu_total_ns) as f64;
                if dt > 0.0 { used / dt * 100.0 } else { 0.0 }
            }
            None => 0.0,
        };
        self.tasks.insert(
            key,
            TaskSample {
                usage,
                cpu_percent: percent,
                cpu_ticks: percent / 100.0 * mhz,
                at: crate::clock::now_nanos(),
                taken: now,
            },
        );
    }

    /// Forgets tasks that are no longer sampled.
    pub fn retain(&mut self, live: &std::collections::BTreeSet<(String, String)>) {
        self.tasks.retain(|k, _| live.contains(k));
    }

    /// The latest sample of a task.
    pub fn task(&self, alloc: &str, task: &str) -> Option<&TaskSample> {
        self.tasks.get(&(alloc.to_string(), task.to_string()))
    }

    /// Nomad's `AllocResourceUsage` JSON for an allocation's tasks.
    pub fn alloc_json(&self, alloc: &str, tasks: &[String]) -> Value {
        let mut per_task = serde_json::Map::new();
        let (mut rss, mut usage, mut pct, mut ticks, mut user, mut sys) =
            (0u64, 0u64, 0.0, 0.0, 0u64, 0u64);
        let mut latest = 0i64;
        for t in tasks {
            let Some(s) = self.task(alloc, t) else {
                continue;
            };
            rss += s.usage.rss_bytes;
            usage += s.usage.memory_usage_bytes;
            pct += s.cpu_percent;
            ticks += s.cpu_ticks;
            user += s.usage.cpu_user_ns;
            sys += s.usage.cpu_system_ns;
            latest = latest.max(s.at);
            per_task.insert(
                t.clone(),
                json!({
                    "ResourceUsage": resource_usage(s.usage.rss_bytes, s.usage.memory_usage_bytes, s.cpu_percent, s.cpu_ticks, s.usage.cpu_user_ns, s.usage.cpu_system_ns, &s.usage.measured),
                    "Timestamp": s.at,
                    "Pids": Value::Null,
                }),
            );
        }
        json!({
            "ResourceUsage": resource_usage(rss, usage, pct, ticks, user, sys, &["RSS".into(), "Usage".into()]),
            "Tasks": per_task,
            "Timestamp": latest,
        })
    }

    /// Samples `/proc/stat` and returns per-cpu (user, system, idle) percents.
    pub fn sample_host_cpu(&mut self) {
        let now = Instant::now();
        let current = read_cpu_times();
        if let Some((prev, _)) = &self.host_cpu {
            self.host_cpu_percent = current
                .iter()
                .zip(prev)
                .map(|(c, p)| {
                    let total = c.total.saturating_sub(p.total).max(1) as f64;
                    (
                        c.user.saturating_sub(p.user) as f64 / total * 100.0,
                        c.system.saturating_sub(p.system) as f64 / total * 100.0,
                        c.idle.saturating_sub(p.idle) as f64 / total * 100.0,
                    )
                })
                .collect();
        }
        self.host_cpu = Some((current, now));
    }

    /// Nomad's `HostStats` JSON.
    pub fn host_json(&self, alloc_dir: &std::path::Path) -> Value {
        let mem = read_meminfo();
        let get = |k: &str| mem.get(k).copied().unwrap_or(0) * 1024;
        let total = get("MemTotal");
        let available = get("MemAvailable");
        let free = get("MemFree");
        let cpus: Vec<Value> = self
            .host_cpu_percent
            .iter()
            .enumerate()
            .map(|(i, (u, s, idle))| {
                json!({"CPU": format!("cpu{i}"), "User": u, "System": s, "Idle": idle, "Total": 100.0 - idle})
            })
            .collect();
        let uptime = std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .unwrap_or(0.0) as u64;
        let (disk_total, disk_free) = crate::disk::disk_space(alloc_dir);
        let used = disk_total.saturating_sub(disk_free);
        json!({
            "Memory": {"Total": total, "Available": available, "Used": total.saturating_sub(available), "Free": free},
            "CPU": cpus,
            "CPUTicksConsumed": self.host_cpu_percent.iter().map(|(u, s, _)| u + s).sum::<f64>(),
            "DiskStats": [],
            "AllocDirStats": {
                "Device": "", "Mountpoint": alloc_dir.display().to_string(),
                "Size": disk_total, "Used": used, "Available": disk_free,
                "UsedPercent": if disk_total > 0 { used as f64 / disk_total as f64 * 100.0 } else { 0.0 },
                "InodesUsedPercent": 0.0,
            },
            "Uptime": uptime,
            "Timestamp": crate::clock::now_nanos(),
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn resource_usage(
    rss: u64,
    usage: u64,
    pct: f64,
    ticks: f64,
    user: u64,
    sys: u64,
    measured: &[String],
) -> Value {
    json!({
        "MemoryStats": {
            "RSS": rss, "Cache": 0, "Swap": 0, "MappedFile": 0, "Usage": usage,
            "MaxUsage": 0, "KernelUsage": 0, "KernelMaxUsage": 0, "Measured": measured,
        },
        "CpuStats": {
            "SystemMode": sys as f64 / 1e6, "UserMode": user as f64 / 1e6, "TotalTicks": ticks,
            "ThrottledPeriods": 0, "ThrottledTime": 0, "Percent": pct,
            "Measured": ["System Mode", "User Mode", "Percent", "Total Ticks"],
        },
        "DeviceStats": [],
    })
}

fn read_cpu_times() -> Vec<CpuTimes> {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .filter_map(|v| v.parse().ok())
                .collect();
            let at = |i: usize| f.get(i).copied().unwrap_or(0);
            CpuTimes {
                user: at(0) + at(1),
                system: at(2),
                idle: at(3) + at(4),
                total: f.iter().sum(),
            }
        })
        .collect()
}

fn read_meminfo() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.to_string(), v.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}
