//! A container's resource usage from the engine's stats API (one sample, not a stream),
//! as the client's sampler wants it: memory usage and RSS in bytes, cumulative cpu time
//! in nanoseconds. Under cgroup v1 the engine reports `rss`; under v2 `anon` is the
//! same quantity.

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptions;
use futures_util::StreamExt;

use super::engine::Engine;
use crate::client::driver::{DriverError, TaskUsage};

/// One sample of container `id`; `None` when it is not running.
pub fn sample(engine: &Engine, id: &str) -> Result<Option<TaskUsage>, DriverError> {
    let id = id.to_string();
    let r = engine.call(move |d| async move {
        let opts = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut s = d.stats(&id, Some(opts));
        s.next().await.transpose()
    });
    match r {
        Ok(Some(s)) => Ok(usage(&s)),
        Ok(None) => Ok(None),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(DriverError::Start(format!("container stats: {e}"))),
    }
}

/// The usage in a stats answer; `None` for a stopped container (no cpu counters).
pub fn usage(s: &ContainerStatsResponse) -> Option<TaskUsage> {
    let cpu = s.cpu_stats.as_ref()?.cpu_usage.as_ref()?;
    let total = cpu.total_usage?;
    let mem = s.memory_stats.clone().unwrap_or_default();
    let detail = mem.stats.unwrap_or_default();
    let rss = detail
        .get("rss")
        .or_else(|| detail.get("anon"))
        .copied()
        .unwrap_or(0);
    let measured = vec!["RSS".to_string(), "Usage".to_string()];
    Some(TaskUsage {
        rss_bytes: rss,
        memory_usage_bytes: mem.usage.unwrap_or(0),
        cpu_total_ns: total,
        cpu_user_ns: cpu.usage_in_usermode.unwrap_or(0),
        cpu_system_ns: cpu.usage_in_kernelmode.unwrap_or(0),
        measured,
    })
}
