//! c1m: bulk placement in orch-core (see BENCHMARKS.md of the design brief).
//!
//! `cargo run --release -p orch-benches --bin c1m -- --nodes N --allocs M [--scenario S]`
//! Scenarios: default, system, fill, preempt, churn (see `benches/README.md`). The last
//! output line is one JSON object.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// mimalloc (what the `orch` binary runs with, see its `main.rs`), counting live heap
/// bytes: `heap_mb` in the output says what the state holds, apart from allocator slack
/// and fragmentation in `peak_rss_mb`.
struct Counting;

static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to mimalloc unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { INNER.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { INNER.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { INNER.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

use orch_benches::{c1m_job, c1m_jobs, c1m_node};
use orch_core::model::{Job, Task, TaskGroup, job_type};
use orch_core::sim::Cluster;

struct Args {
    nodes: usize,
    allocs: u64,
    scenario: String,
    seed: u64,
    nomad_order: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        nodes: 10_000,
        allocs: 1_000_000,
        scenario: "default".into(),
        seed: 1,
        nomad_order: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => a.nodes = value()?.parse().map_err(|e| format!("--nodes: {e}"))?,
            "--allocs" => a.allocs = value()?.parse().map_err(|e| format!("--allocs: {e}"))?,
            "--scenario" => a.scenario = value()?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            // Nomad's random node sampling and strict job anti-affinity.
            "--nomad-mode" => a.nomad_order = true,
            other => {
                return Err(format!(
                    "unknown flag {other}; expected --nodes, --allocs, --scenario, --seed, --nomad-mode"
                ));
            }
        }
    }
    if !["default", "system", "fill", "preempt", "churn"].contains(&a.scenario.as_str()) {
        return Err(format!(
            "unknown scenario {:?}; expected default, system, fill, preempt or churn",
            a.scenario
        ));
    }
    Ok(a)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time this process has used, in seconds: on a shared machine the wall time of
/// the placement phase moves with the load, its CPU time much less. Read from
/// `/proc/self/schedstat` (nanoseconds on the CPU; c1m runs on one thread), whose
/// resolution matters for the churn phase (about a tenth of a second), else from
/// `/proc/self/stat` (user + system, in clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let sched = std::fs::read_to_string("/proc/self/schedstat").ok();
    if let Some(ns) = sched.and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok()) {
        return ns as f64 / 1e9;
    }
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and
    // 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse().ok())
        .collect();
    ticks.iter().sum::<f64>() / 100.0
}

/// Runs one job to completion; returns allocations placed for it.
fn run_job(c: &mut Cluster, job: Job) -> Result<u64, String> {
    let (ns, id) = (job.namespace.clone(), job.id.clone());
    c.submit_job(job).map_err(|e| e.to_string())?;
    c.run_to_quiescence().map_err(|e| e.to_string())?;
    Ok(live_allocs(c, &ns, &id))
}

/// Runs one new service or batch job of `want` allocations to completion; returns how
/// many were placed: those its blocked evaluation does not still queue (cheaper than
/// reading back every allocation, which the timed loop would otherwise pay for).
fn run_counted_job(c: &mut Cluster, job: Job, want: u64) -> Result<u64, String> {
    let (ns, id) = (job.namespace.clone(), job.id.clone());
    c.submit_job(job).map_err(|e| e.to_string())?;
    c.run_to_quiescence().map_err(|e| e.to_string())?;
    let queued: u64 = c.unplaced(&ns, &id).values().sum();
    Ok(want.saturating_sub(queued))
}

/// The churn scenario, once the default workload is placed: 1% of the nodes (every
/// hundredth) fail at once; times the evaluations until every lost allocation is
/// replaced, and checks that the cluster holds as many live allocations as before.
fn churn(
    c: &mut Cluster,
    nodes: usize,
    placed: u64,
    extra: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(), String> {
    let failing: Vec<String> = (0..nodes).step_by(100).map(|i| c1m_node(i).id).collect();
    let lost: u64 = failing
        .iter()
        .map(|n| {
            c.state
                .allocs_by_node(n)
                .iter()
                .filter(|a| !a.terminal())
                .count() as u64
        })
        .sum();
    let evals_before = c.stats.evals_processed;
    perf_control("enable");
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    for n in &failing {
        c.fail_node(n).map_err(|e| e.to_string())?;
    }
    c.run_to_quiescence().map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    perf_control("disable");
    let live = c.report().placed;
    if live != placed {
        return Err(format!(
            "churn: {live} live allocations after replacing {lost} lost ones, {placed} before"
        ));
    }
    extra.insert("churn_failed_nodes".into(), (failing.len() as u64).into());
    extra.insert("churn_lost".into(), lost.into());
    extra.insert("churn_seconds".into(), seconds.into());
    extra.insert(
        "churn_evals".into(),
        (c.stats.evals_processed - evals_before).into(),
    );
    let rate = if seconds > 0.0 {
        lost as f64 / seconds
    } else {
        0.0
    };
    extra.insert("churn_replacements_per_sec".into(), rate.into());
    extra.insert("churn_cpu_seconds".into(), cpu.into());
    let per_cpu = if cpu > 0.0 { lost as f64 / cpu } else { 0.0 };
    extra.insert("churn_replacements_per_cpu_sec".into(), per_cpu.into());
    Ok(())
}

/// Profiling one phase: with `C1M_PERF_CTL` naming `perf record --control=fifo:...`'s
/// control FIFO (and `perf record -D -1`), the churn phase alone is sampled (in
/// `preempt`, the phase of high-priority placements); with `C1M_CALLGRIND` set, under
/// `valgrind --tool=callgrind --instr-atstart=no`, it alone is instrumented.
fn perf_control(cmd: &str) {
    if let Ok(path) = std::env::var("C1M_PERF_CTL") {
        let _ = std::fs::write(path, format!("{cmd}\n"));
    }
    if std::env::var_os("C1M_CALLGRIND").is_some() {
        orch_benches::callgrind::instrument(cmd == "enable");
    }
}

/// The evaluations the state holds, counted by `TriggeredBy` and status: which kinds
/// of evaluation a scenario's time goes to.
fn evals_by_trigger(c: &Cluster) -> serde_json::Value {
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    for e in c.state.evals() {
        *counts
            .entry(format!("{}/{}", e.triggered_by, e.status))
            .or_default() += 1;
    }
    serde_json::to_value(counts).unwrap_or_default()
}

fn live_allocs(c: &Cluster, ns: &str, id: &str) -> u64 {
    c.state
        .allocs_by_job(ns, id)
        .iter()
        .filter(|a| !a.terminal())
        .count() as u64
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("c1m: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("c1m: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let mut c = Cluster::new(args.seed);
    if args.nomad_order {
        c.config.fill_order = orch_core::scheduler::FillOrder::Random;
        c.config.anti_affinity = orch_core::scheduler::AntiAffinity::Nomad;
    }
    let setup = Instant::now();
    for i in 0..args.nodes {
        c.add_node(c1m_node(i)).map_err(|e| e.to_string())?;
    }
    eprintln!(
        "c1m: {} nodes registered in {:.2}s",
        args.nodes,
        setup.elapsed().as_secs_f64()
    );
    let mut extra = serde_json::Map::new();
    let (mut asked, mut placed) = (0u64, 0u64);
    let (mut cpu_demand, mut mem_demand) = (0u64, 0u64);
    let mut account = |job: &Job, got: u64| {
        let ask = job.task_groups[0].ask();
        cpu_demand += ask.cpu_mhz * got;
        mem_demand += ask.memory_mb * got;
    };
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    match args.scenario.as_str() {
        "default" | "churn" => {
            for job in c1m_jobs(args.allocs) {
                let want = u64::from(job.task_groups[0].count);
                asked += want;
                let got = run_counted_job(&mut c, job.clone(), want)?;
                account(&job, got);
                placed += got;
            }
        }
        "system" => {
            let mut t = Task {
                name: "agent".into(),
                driver: "raw_exec".into(),
                ..Task::default()
            };
            t.resources.cpu = 50;
            t.resources.memory_mb = 64;
            let job = Job {
                id: "c1m-system".into(),
                job_type: job_type::SYSTEM.into(),
                datacenters: vec!["*".into()],
                task_groups: vec![TaskGroup {
                    name: "g".into(),
                    tasks: vec![t],
                    ..TaskGroup::default()
                }],
                ..Job::default()
            };
            asked = args.nodes as u64;
            let got = run_job(&mut c, job.clone())?;
            account(&job, got);
            placed = got;
        }
        "fill" => {
            let mut j = 0;
            loop {
                let job = c1m_job(j, orch_benches::c1m_count(j));
                let want = u64::from(job.task_groups[0].count);
                asked += want;
                let got = run_counted_job(&mut c, job.clone(), want)?;
                account(&job, got);
                placed += got;
                j += 1;
                if got < want {
                    break;
                }
            }
            let r = c.report();
            extra.insert("cpu_util".into(), r.cpu_util().into());
            extra.insert("memory_util".into(), r.memory_util().into());
        }
        _ => {
            // preempt: fill with priority-30 batch work, then priority-80 services for 10%.
            let mut j = 0;
            loop {
                let mut job = c1m_job(j, orch_benches::c1m_count(j));
                job.job_type = job_type::BATCH.into();
                job.priority = 30;
                let want = u64::from(job.task_groups[0].count);
                let got = run_job(&mut c, job.clone())?;
                asked += want;
                placed += got;
                account(&job, got);
                j += 1;
                if got < want {
                    break;
                }
            }
            let before = c.report().placed;
            let target = before / 10;
            let evals_before = c.stats.evals_processed;
            let hi_start = Instant::now();
            let hi_cpu_start = cpu_seconds();
            perf_control("enable");
            let (mut hi_asked, mut hi_placed) = (0u64, 0u64);
            let mut k = 0;
            while hi_asked < target {
                let mut job = c1m_job(100_000 + k, orch_benches::c1m_count(k));
                job.job_type = job_type::SERVICE.into();
                job.priority = 80;
                job.spreads.clear();
                let want = u64::from(job.task_groups[0].count).min(target - hi_asked);
                job.task_groups[0].count = want as u32;
                c.config.preemption.service = true;
                let got = run_job(&mut c, job.clone())?;
                hi_asked += want;
                hi_placed += got;
                k += 1;
            }
            perf_control("disable");
            extra.insert(
                "high_priority_seconds".into(),
                hi_start.elapsed().as_secs_f64().into(),
            );
            extra.insert(
                "high_priority_cpu_seconds".into(),
                (cpu_seconds() - hi_cpu_start).into(),
            );
            extra.insert(
                "high_priority_evals".into(),
                (c.stats.evals_processed - evals_before).into(),
            );
            extra.insert("evals_by_trigger".into(), evals_by_trigger(&c));
            asked += hi_asked;
            placed += hi_placed;
            let preempted = c
                .state
                .allocs()
                .filter(|a| a.desired_status == "evict")
                .count();
            extra.insert("preempted".into(), (preempted as u64).into());
            extra.insert("high_priority_placed".into(), hi_placed.into());
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu_used = cpu_seconds() - cpu_start;
    if args.scenario == "churn" {
        churn(&mut c, args.nodes, placed, &mut extra)?;
    }
    let report = c.report();
    if ["default", "churn"].contains(&args.scenario.as_str()) && report.placed != placed {
        return Err(format!(
            "counted {placed} placements but the state holds {} live allocations",
            report.placed
        ));
    }
    // Fewest nodes that could hold the placed demand if it were fluid.
    let mut caps: Vec<(u64, u64)> = (0..args.nodes)
        .map(|i| {
            let cap = c1m_node(i).capacity();
            (cap.cpu_mhz, cap.memory_mb)
        })
        .collect();
    caps.sort_by(|a, b| b.cmp(a));
    let (mut cpu, mut mem, mut lower_bound) = (0u64, 0u64, 0u64);
    for (c_, m) in caps {
        if cpu >= cpu_demand && mem >= mem_demand {
            break;
        }
        cpu += c_;
        mem += m;
        lower_bound += 1;
    }
    let (mut used_cpu_cap, mut used_mem_cap) = (0u64, 0u64);
    for node_id in report.allocs_per_node.keys() {
        if let Some(n) = c.state.node(node_id) {
            used_cpu_cap += n.capacity().cpu_mhz;
            used_mem_cap += n.capacity().memory_mb;
        }
    }
    let eff = |d: u64, cap: u64| if cap == 0 { 0.0 } else { d as f64 / cap as f64 };
    let packing = eff(cpu_demand, used_cpu_cap).max(eff(mem_demand, used_mem_cap));
    let mut out = serde_json::json!({
        "scenario": args.scenario,
        "mode": if args.nomad_order { "nomad" } else { "orch" },
        "nodes": args.nodes,
        "asked": asked,
        "placed": placed,
        "unplaced": asked.saturating_sub(placed),
        "seconds": seconds,
        "placements_per_sec": if seconds > 0.0 { placed as f64 / seconds } else { 0.0 },
        "cpu_seconds": cpu_used,
        "placements_per_cpu_sec": if cpu_used > 0.0 { placed as f64 / cpu_used } else { 0.0 },
        "peak_rss_mb": peak_rss_mb(),
        "heap_mb": LIVE.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0),
        "nodes_used": report.nodes_used,
        "lower_bound_nodes": lower_bound,
        "cpu_demand_mhz": cpu_demand,
        "memory_demand_mb": mem_demand,
        "packing_efficiency": packing,
        "evals": c.stats.evals_processed,
        "plan_nodes_rejected": c.stats.plan_nodes_rejected,
    });
    if let Some(o) = out.as_object_mut() {
        o.extend(extra);
    }
    println!("{out}");
    // Freeing a million allocations takes seconds and measures nothing.
    std::mem::forget(c);
    Ok(())
}
