//! What the drivers read from `/proc`: process start times (so a recorded pid is only
//! trusted while it still names the same process), process-group membership and usage
//! for raw_exec's stats, and a few system constants.

use std::fs;

/// Fields of `/proc/<pid>/stat` the drivers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// State letter (`R`, `S`, `Z`, ...).
    pub state: char,
    /// Process group.
    pub pgrp: i32,
    /// User time in clock ticks.
    pub utime: u64,
    /// System time in clock ticks.
    pub stime: u64,
    /// Start time in clock ticks after boot: with the pid, identifies a process.
    pub start_time: u64,
    /// Resident set in pages.
    pub rss_pages: u64,
}

/// Reads `/proc/<pid>/stat`; `None` when there is no such process.
pub fn stat(pid: i32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state); field N is f[N - 3].
    let num = |n: usize| f.get(n - 3).and_then(|s| s.parse::<u64>().ok());
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        pgrp: f.get(2)?.parse().ok()?,
        utime: num(14)?,
        stime: num(15)?,
        start_time: num(22)?,
        rss_pages: num(24)?,
    })
}

/// Start time of a process, `None` when it does not exist.
pub fn start_time(pid: i32) -> Option<u64> {
    stat(pid).map(|s| s.start_time)
}

/// The process `pid` exists, is not a zombie, and started at `start_time` (so it is the
/// process recorded earlier, not a later one that reused the pid).
pub fn is_same_process(pid: i32, start_time: u64) -> bool {
    pid > 0 && stat(pid).is_some_and(|s| s.start_time == start_time && s.state != 'Z')
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<(i32, ProcStat)> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .filter(|(_, s)| s.pgrp == pgid && s.state != 'Z')
        .collect()
}

/// Usage of a process group summed from `/proc` (raw_exec has no cgroup).
pub fn group_usage(pgid: i32) -> Option<super::TaskUsage> {
    let members = group_members(pgid);
    if members.is_empty() {
        return None;
    }
    let tick_ns = 1_000_000_000 / clock_ticks();
    let mut u = super::TaskUsage::default();
    for (_, s) in members {
        u.rss_bytes += s.rss_pages * page_size();
        u.cpu_user_ns += s.utime * tick_ns;
        u.cpu_system_ns += s.stime * tick_ns;
    }
    u.memory_usage_bytes = u.rss_bytes;
    u.cpu_total_ns = u.cpu_user_ns + u.cpu_system_ns;
    u.measured = ["RSS", "User Mode", "System Mode", "Total Ticks"]
        .map(String::from)
        .to_vec();
    Some(u)
}

/// `sysconf(_SC_CLK_TCK)`, the unit of `/proc` cpu times (100 on Linux).
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// `sysconf(_SC_PAGESIZE)`.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).ok().filter(|p| *p > 0).unwrap_or(4096)
}

/// The effective user is root (isolating drivers need it for namespaces and cgroups).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests;

/// The children of process `pid` (`/proc/<pid>/task/<pid>/children`), oldest first as
/// the kernel lists them; empty when it has none or the kernel does not list them.
pub fn children(pid: i32) -> Vec<i32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|t| {
            t.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}
