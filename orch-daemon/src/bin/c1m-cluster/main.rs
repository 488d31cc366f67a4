//! c1m end to end (issue 16): three servers in this process on loopback (real Raft over
//! HTTP, redb log fsync'd on every append, leader loops running), c1m's nodes
//! registered and heartbeating over the client endpoints (`fleet`), then c1m's jobs
//! registered through the Nomad API (`PUT /v1/jobs`, round robin over the three
//! servers); timed until every allocation is committed and applied.
//!
//! `cargo run --release -p orch-daemon --bin c1m-cluster -- [--nodes 10000] [--allocs 1000000]`
//! (more flags: `args`; `--full-plans` writes plans to the log whole, as before
//! `Command::ApplyPlanNormalized`).
//! Prints one JSON line (fields in benches/README.md, "c1m-cluster"); exits 1 when the
//! allocations are not all committed (nothing committed for `--stall` seconds).

mod fleet;
mod report;

#[path = "../bench-common/cluster.rs"]
mod cluster;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use orch_daemon::server::LeaderConfig;
use tokio::task::JoinSet;

/// The same allocator as the `orch` binary, so the bench measures what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The command line.
pub struct Args {
    nodes: usize,
    allocs: u64,
    node_clients: usize,
    job_clients: usize,
    heartbeat_tasks: usize,
    workers: usize,
    stall_secs: u64,
    full_plans: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        nodes: 10_000,
        allocs: 1_000_000,
        node_clients: 32,
        job_clients: 16,
        heartbeat_tasks: 4,
        // One scheduler worker, not one per core: c1m's jobs all pack the fullest nodes
        // first, so two workers plan onto the same nodes, the second's plan is mostly
        // refused, and after `MAX_PLAN_ATTEMPTS` partial commits the rest of its job
        // is dropped (benches/README.md, "c1m-cluster"). `--workers 2` shows it.
        workers: 1,
        stall_secs: 60,
        full_plans: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--full-plans" {
            a.full_plans = true;
            continue;
        }
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--nodes" => a.nodes = n(&v)? as usize,
            "--allocs" => a.allocs = n(&v)?,
            "--node-clients" => a.node_clients = n(&v)? as usize,
            "--job-clients" => a.job_clients = n(&v)? as usize,
            "--heartbeat-tasks" => a.heartbeat_tasks = n(&v)? as usize,
            "--workers" => a.workers = n(&v)? as usize,
            "--stall" => a.stall_secs = n(&v)?,
            other => {
                return Err(format!(
                    "unknown flag {other}; expected --nodes, --allocs, --node-clients, \
                     --job-clients, --heartbeat-tasks, --workers, --stall, --full-plans"
                ));
            }
        }
    }
    if a.nodes == 0 {
        return Err("--nodes: at least 1".into());
    }
    Ok(a)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("c1m-cluster: {e}");
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("orch-c1m-cluster-{}", std::process::id()));
    let result = run(&a, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("c1m-cluster: {e}");
            std::process::exit(1);
        }
    }
}

/// Registers `bodies` (JSON of `{"Job": ...}`) with `clients` in flight, job `j` to
/// `urls[j % urls.len()]`; fails on the first refusal.
async fn register_jobs(
    client: &reqwest::Client,
    urls: &[String],
    bodies: Vec<String>,
    clients: usize,
) -> Result<(), String> {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let urls = Arc::new(urls.to_vec());
    let mut set = JoinSet::new();
    for _ in 0..clients.max(1) {
        let (bodies, next, urls, client) = (
            Arc::clone(&bodies),
            Arc::clone(&next),
            Arc::clone(&urls),
            client.clone(),
        );
        set.spawn(async move {
            loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(j) else {
                    return Ok::<(), String>(());
                };
                let url = format!("{}/v1/jobs", urls[j % urls.len()]);
                let resp = client
                    .put(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| format!("job {j}: {url}: {e}"))?;
                let status = resp.status();
                if !status.is_success() {
                    let text = resp.text().await.unwrap_or_default();
                    return Err(format!("job {j}: {url}: {status} {text}"));
                }
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// The c1m jobs' registration bodies.
fn job_bodies(allocs: u64) -> Result<Vec<String>, String> {
    orch_benches::c1m_jobs(allocs)
        .iter()
        .map(|j| {
            serde_json::to_value(j)
                .map(|v| serde_json::json!({ "Job": v }).to_string())
                .map_err(|e| format!("encoding job {}: {e}", j.id))
        })
        .collect()
}

/// Waits until each server's state holds `allocs` allocations; per server, when it
/// did (since `since`), or `None` when nothing new was applied anywhere for `stall`.
/// Also when the last allocation seen anywhere was applied.
async fn wait_committed(
    servers: &[cluster::Server],
    allocs: usize,
    since: Instant,
    stall: Duration,
) -> (Vec<Option<Duration>>, Duration) {
    let mut done: Vec<Option<Duration>> = vec![None; servers.len()];
    let mut seen = 0usize;
    let mut progress = Instant::now();
    let mut last = Duration::ZERO;
    while done.iter().any(Option::is_none) {
        let mut most = 0;
        for (i, s) in servers.iter().enumerate() {
            let n = s.state.read().alloc_count();
            most = most.max(n);
            if n >= allocs && done[i].is_none() {
                done[i] = Some(since.elapsed());
            }
        }
        if most > seen {
            seen = most;
            progress = Instant::now();
            last = since.elapsed();
        } else if progress.elapsed() > stall {
            eprintln!("c1m-cluster: stalled at {seen} of {allocs} allocations");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (done, last)
}

async fn run(a: &Args, dir: &std::path::Path) -> Result<bool, String> {
    let bodies = job_bodies(a.allocs)?;
    let leader_config = LeaderConfig {
        workers: a.workers.max(1),
        normalize_plans: !a.full_plans,
        ..LeaderConfig::default()
    };
    let servers = cluster::start_three(dir, &leader_config).await?;
    let urls: Vec<String> = servers.iter().map(|s| s.http.clone()).collect();
    eprintln!(
        "c1m-cluster: 3 servers up; {} nodes, {} allocations in {} jobs",
        a.nodes,
        a.allocs,
        bodies.len()
    );
    let client = orch_daemon::tls::http_client_builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(a.node_clients.max(a.job_clients).max(a.heartbeat_tasks))
        .build()
        .map_err(|e| e.to_string())?;
    let fleet = fleet::Fleet::start(client.clone(), urls.clone(), a.nodes, a.heartbeat_tasks);
    let started = Instant::now();
    fleet.register(a.nodes, a.node_clients).await?;
    let nodes_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "c1m-cluster: {} nodes registered in {nodes_secs:.1} s",
        a.nodes
    );
    let jobs = bodies.len();
    let timings_before = report::timings();
    let started = Instant::now();
    register_jobs(&client, &urls, bodies, a.job_clients).await?;
    let jobs_secs = started.elapsed().as_secs_f64();
    eprintln!("c1m-cluster: {jobs} jobs registered in {jobs_secs:.1} s");
    let stall = Duration::from_secs(a.stall_secs);
    let (done, last_commit) = wait_committed(&servers, a.allocs as usize, started, stall).await;
    let phases = report::Phases {
        jobs,
        nodes_secs,
        jobs_secs,
        done,
        last_commit,
        timings_before,
    };
    let out = report::Report::gather(a, &servers, &fleet.stats, dir, &phases);
    fleet.stop().await;
    for s in &servers {
        let _ = s.node.shutdown().await;
    }
    println!("{}", out.json());
    Ok(out.complete())
}
