//! Raft registration throughput (BENCHMARKS.md): three servers on loopback in this
//! process (real Raft over HTTP, redb log fsync'd on every append, leader loops running),
//! 64 concurrent HTTP clients registering distinct batch jobs (the JSON of one c1m job,
//! about 1 KB) through the Nomad API of all three servers, for a fixed time.
//!
//! `cargo run --release -p orch-daemon --bin register-bench -- [--seconds 30] [--clients 64] [--etcd]`
//! Prints one JSON line: committed registrations per second, p50 and p99 latency.
//!
//! `--etcd` adds a reference run against a three-member etcd cluster on loopback (the
//! Debian package `etcd-server`): PUTs of the same payload with the same client
//! concurrency through etcd's HTTP/JSON gateway, printed as a second JSON line and a
//! side-by-side table.

#[path = "bench-common/cluster.rs"]
mod cluster;
#[path = "register-bench/etcd.rs"]
mod etcd;

use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_daemon::server::LeaderConfig;

/// The same allocator as the `orch` binary, so the bench measures what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    seconds: u64,
    clients: usize,
    etcd: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 30,
        clients: 64,
        etcd: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--etcd" {
            a.etcd = true;
            continue;
        }
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => a.seconds = v.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--clients" => a.clients = v.parse().map_err(|e| format!("--clients: {e}"))?,
            other => {
                return Err(format!(
                    "unknown flag {other}; expected --seconds, --clients, --etcd"
                ));
            }
        }
    }
    Ok(a)
}

fn job_body(n: u64) -> String {
    serde_json::json!({"Job": {
        "ID": format!("bench-{n}"), "Type": "batch", "Priority": 50, "Datacenters": ["*"],
        "Meta": {"bench": "register", "sequence": n.to_string()},
        "TaskGroups": [{"Name": "g", "Count": 10 + (n * 37) % 991,
            "Tasks": [{"Name": "work", "Driver": "raw_exec",
                "Config": {"command": "/bin/true", "args": ["--bench", "register"]},
                "Resources": {"CPU": 25, "MemoryMB": 64},
                "Env": {"BENCH": "1"}}]}]
    }})
    .to_string()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("register-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(a).await {
        eprintln!("register-bench: {e}");
        std::process::exit(1);
    }
}

/// What one timed run measured.
struct Stats {
    committed: usize,
    errors: u64,
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs `clients` concurrent writers for `seconds`; writer `c` sends to `urls[c % 3]`
/// the body `body(n)` for a fresh sequence number `n`, and a write counts when the
/// answer is a success.
async fn drive(
    client: &reqwest::Client,
    urls: &[String],
    a: &Args,
    method: reqwest::Method,
    body: fn(u64) -> String,
) -> Result<Stats, String> {
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for c in 0..a.clients {
        let (client, counter, url, method) = (
            client.clone(),
            Arc::clone(&counter),
            urls[c % urls.len()].clone(),
            method.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let started = Instant::now();
                match client
                    .request(method.clone(), &url)
                    .header("content-type", "application/json")
                    .body(body(n))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => latencies.push(started.elapsed()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.map_err(|e| e.to_string())?;
        all.extend(l);
        errors += e;
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Stats {
        committed: all.len(),
        errors,
        per_sec: all.len() as f64 / a.seconds.max(1) as f64,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    })
}

/// The etcd gateway's put of the same payload `job_body(n)` under key `bench-{n}`.
fn etcd_put(n: u64) -> String {
    etcd::put_body(&format!("bench-{n}"), &job_body(n))
}

async fn run(a: Args) -> Result<(), String> {
    if a.etcd {
        etcd::check_installed().map_err(|e| e.to_string())?;
    }
    let dir = std::env::temp_dir().join(format!("orch-register-bench-{}", std::process::id()));
    let leader_config = LeaderConfig {
        workers: 1,
        ..LeaderConfig::default()
    };
    let cluster = cluster::start_three(&dir, &leader_config).await?;
    let servers: Vec<String> = cluster
        .iter()
        .map(|s| format!("{}/v1/jobs", s.http))
        .collect();
    eprintln!(
        "register-bench: 3 servers up; {} clients for {} s",
        a.clients, a.seconds
    );
    // A write not answered in 30 s counts as an error, so a stalled cluster ends the run
    // with errors instead of hanging it.
    let client = orch_daemon::tls::http_client_builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(a.clients)
        .build()
        .map_err(|e| e.to_string())?;
    let orch = drive(&client, &servers, &a, reqwest::Method::PUT, job_body).await;
    for s in &cluster {
        let _ = s.node.shutdown().await;
    }
    let orch = orch?;
    let out = serde_json::json!({
        "system": "orch", "servers": 3, "clients": a.clients, "seconds": a.seconds,
        "committed": orch.committed, "errors": orch.errors,
        "registrations_per_sec": orch.per_sec,
        "p50_ms": orch.p50_ms, "p99_ms": orch.p99_ms,
        "fsync": "redb durable commit per append",
    });
    println!("{out}");
    let mut rows = vec![("orch (3 servers, Raft)".to_string(), orch)];
    if a.etcd {
        let etcd_dir = dir.join("etcd");
        std::fs::create_dir_all(&etcd_dir)
            .map_err(|e| format!("creating {}: {e}", etcd_dir.display()))?;
        let cluster = etcd::EtcdCluster::start(&etcd_dir, &client)
            .await
            .map_err(|e| e.to_string())?;
        let version = etcd::version();
        eprintln!(
            "register-bench: {version}, 3 members up; {} clients for {} s",
            a.clients, a.seconds
        );
        let urls: Vec<String> = cluster
            .client_urls
            .iter()
            .map(|u| format!("{u}/v3/kv/put"))
            .collect();
        let stats = drive(&client, &urls, &a, reqwest::Method::POST, etcd_put).await;
        drop(cluster);
        let stats = stats?;
        let out = serde_json::json!({
            "system": "etcd", "version": version, "servers": 3, "clients": a.clients,
            "seconds": a.seconds, "committed": stats.committed, "errors": stats.errors,
            "puts_per_sec": stats.per_sec, "p50_ms": stats.p50_ms, "p99_ms": stats.p99_ms,
            "api": "HTTP/JSON gateway POST /v3/kv/put",
        });
        println!("{out}");
        rows.push(("etcd (3 members, gateway)".to_string(), stats));
    }
    println!();
    println!(
        "{:<28} {:>10} {:>9} {:>9} {:>8}",
        "system", "writes/s", "p50 ms", "p99 ms", "errors"
    );
    for (name, s) in &rows {
        println!(
            "{name:<28} {:>10.1} {:>9.2} {:>9.2} {:>8}",
            s.per_sec, s.p50_ms, s.p99_ms, s.errors
        );
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
