//! The nemesis (issue 23): real `orch` servers, each in a network namespace of its own,
//! under concurrent job registrations, scales, deregistrations and reads through the
//! Nomad API, while faults are injected one at a time (kill -9 of the leader or of any
//! server, SIGSTOP pauses, partitions, packet loss, slow links, link delay, a full disk).
//! The history is then checked for linearizability (`checker`), and the run reports
//! operations, faults, acknowledged writes lost, violations and the longest write
//! unavailability.
//!
//! ```text
//! nemesis [--servers 3] [--seconds 600] [--fault-every 10] [--seed 1] [--workers 6]
//!         [--keys 6] [--key-lifetime 30] [--orch path/to/orch] [--dir /tmp/...]
//!         [--dump history.jsonl]
//!         [--faults PartitionLeader,KillLeader]   # only these kinds (default: all)
//! nemesis --check history.jsonl          # explain a dumped history's violations
//! nemesis --scenario disconnect [--servers 1]   # a client cut off (see `disconnect`)
//! ```
//! Needs root (namespaces, iptables, tmpfs). Prints one JSON line; exits 1 when a write
//! was lost, the history is not linearizable or could not be decided.

mod checker;
mod delay;
mod disconnect;
mod faults;
mod topology;
mod workload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use checker::{Event, Op};

struct Args {
    servers: usize,
    seconds: u64,
    fault_every: u64,
    seed: u64,
    workers: usize,
    keys: usize,
    /// Seconds a key is written before the workers move to a fresh one (0: never).
    key_lifetime: u64,
    orch: PathBuf,
    dir: Option<PathBuf>,
    /// Where to write the history, one JSON line per operation.
    dump: Option<PathBuf>,
    /// Check a dumped history instead of running (`--check file`).
    check: Option<PathBuf>,
    /// `faults` (the default) or `disconnect` (see `disconnect`).
    scenario: String,
    /// The kinds of fault to draw from (`--faults`; empty: every kind the cluster allows).
    kinds: Vec<faults::Kind>,
}

fn parse_args() -> Result<Args, String> {
    let orch = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("orch");
    let mut a = Args {
        servers: 3,
        seconds: 600,
        fault_every: 10,
        seed: 1,
        workers: 6,
        keys: 6,
        key_lifetime: 30,
        orch,
        dir: None,
        dump: None,
        check: None,
        scenario: "faults".into(),
        kinds: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: expected a whole number, got {value:?}"))
        };
        match flag.as_str() {
            "--servers" => a.servers = num()?.clamp(1, 9) as usize,
            "--seconds" => a.seconds = num()?,
            "--fault-every" => a.fault_every = num()?.max(1),
            "--seed" => a.seed = num()?,
            "--workers" => a.workers = num()?.clamp(1, 64) as usize,
            "--keys" => a.keys = num()?.clamp(1, 1000) as usize,
            "--key-lifetime" => a.key_lifetime = num()?,
            "--orch" => a.orch = PathBuf::from(value),
            "--dir" => a.dir = Some(PathBuf::from(value)),
            "--dump" => a.dump = Some(PathBuf::from(value)),
            "--check" => a.check = Some(PathBuf::from(value)),
            "--scenario" if value == "faults" || value == "disconnect" => a.scenario = value,
            "--faults" => a.kinds = parse_kinds(&value)?,
            "--scenario" => {
                return Err(format!(
                    "--scenario: expected faults or disconnect, got {value:?}"
                ));
            }
            _ => return Err(format!("unknown flag {flag}; see the file's doc comment")),
        }
    }
    if a.kinds.is_empty() {
        a.kinds = faults::Kind::all(a.servers);
    }
    Ok(a)
}

/// `--faults`: a comma-separated list of fault kinds, as the report names them.
fn parse_kinds(list: &str) -> Result<Vec<faults::Kind>, String> {
    list.split(',')
        .map(|name| {
            faults::Kind::parse(name.trim()).ok_or(format!(
                "--faults: {name:?} is not a fault kind; expected names such as {:?}",
                faults::Kind::all(5)
            ))
        })
        .collect()
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("nemesis: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

/// One fault that took the leader away, and where the time to recover went.
#[derive(Clone, Copy)]
struct LeaderLoss {
    kind: faults::Kind,
    /// When it was in force (µs since the start): injected, the partition's rules in.
    at: u64,
    /// How long injecting it took (µs): a partition is an `iptables-restore` per server.
    installed_in: u64,
    /// When a server other than the old leader first named a new leader (µs after `at`).
    new_leader_after: Option<u64>,
}

/// What the fault loop measured.
#[derive(Default)]
struct FaultLog {
    counts: BTreeMap<String, u64>,
    /// Each leader-losing fault, with when it started and what followed.
    leader_losses: Vec<LeaderLoss>,
    /// When each fault started, and its kind, in order.
    started: Vec<(u64, faults::Kind)>,
    /// Servers not healthy within 30 s of a rolling restart.
    slow_restarts: u64,
    /// Connections the link-delay relays carried (0 when that fault never came).
    delayed_connections: u64,
}

fn run() -> Result<bool, String> {
    let args = parse_args()?;
    if let Some(path) = &args.check {
        return explain(path);
    }
    faults::preflight()?;
    let tag = std::process::id() % 1000;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("orch-nemesis-{tag}")));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let http = workload::Http {
        connect: Duration::from_secs(1),
        call: Duration::from_secs(3),
    };
    let mut cluster = topology::Cluster::start(args.servers, tag, &args.orch, &dir)?;
    wait_ready(&cluster, &http, args.servers)?;
    if args.scenario == "disconnect" {
        let report = disconnect::run(&mut cluster, &http)?;
        println!("{report}");
        return Ok(disconnect::held(&report));
    }

    let shared = Arc::new(workload::Shared {
        urls: cluster.servers.iter().map(|s| s.url()).collect(),
        keys: args.keys,
        key_lifetime: Duration::from_secs(args.key_lifetime),
        history: Default::default(),
        write_acks: Default::default(),
        unknown_reasons: Default::default(),
        stop: Default::default(),
        start: Instant::now(),
        http,
    });
    let workers = workload::start(&shared, args.workers, args.seed);
    let log = fault_loop(&mut cluster, &shared, &args)?;
    shared.stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    // Everything healed: the final reads go into the history too.
    cluster
        .wait_leader(&http, Duration::from_secs(60))
        .ok_or("no leader after the faults were healed")?;
    final_reads(&cluster, &shared)?;
    let history = std::mem::take(&mut *shared.history.lock().unwrap_or_else(|e| e.into_inner()));
    let acks = shared
        .write_acks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if let Some(path) = &args.dump {
        dump(path, &history)?;
    }
    let reasons = shared
        .unknown_reasons
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    report(&args, &history, (&acks, &reasons), &log, shared.now())
}

/// Writes the history, one operation per line: key, op, call and return (ms).
fn dump(path: &std::path::Path, history: &[Event]) -> Result<(), String> {
    let mut text = String::new();
    for e in history {
        text.push_str(&serde_json::to_string(e).map_err(|e| e.to_string())?);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks a dumped history and prints, for each violating key, the end of the shortest
/// prefix that is not linearizable, and each key the search gave up on.
fn explain(path: &std::path::Path) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let history: Vec<Event> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut ok = true;
    for v in checker::check(&history) {
        if v.linearizable.is_none() {
            println!(
                "{}: undecided at the checker's budget ({} operations)",
                v.key, v.ops
            );
            ok = false;
            continue;
        }
        let Some(prefix) = checker::first_violation(&history, &v.key) else {
            continue;
        };
        ok = false;
        println!(
            "{}: not linearizable; the last operations of the shortest failing prefix:",
            v.key
        );
        for e in prefix.iter().rev().take(12).rev() {
            println!("  {:>12} {:>12?} {:?}", e.call, e.ret, e.op);
        }
    }
    Ok(ok)
}

/// Waits for one leader with every server a voter.
fn wait_ready(
    cluster: &topology::Cluster,
    http: &workload::Http,
    servers: usize,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if let Some(l) = cluster.leader(http) {
            let url = cluster.servers[l].url();
            if let Ok(r) = http.send(&url, "GET", "/v1/status/peers", "") {
                let peers: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
                if peers.as_array().is_some_and(|p| p.len() == servers) {
                    return Ok(());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "the {servers} servers formed no cluster within 90 s; see their logs"
    ))
}

fn fault_loop(
    cluster: &mut topology::Cluster,
    shared: &workload::Shared,
    args: &Args,
) -> Result<FaultLog, String> {
    let mut rng =
        orch_core::scheduler::rng::SchedRng::new(args.seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut log = FaultLog::default();
    let every = Duration::from_secs(args.fault_every);
    let end = Duration::from_secs(args.seconds);
    // A quiet first interval: the history starts with the cluster healthy.
    std::thread::sleep(every.min(end));
    while shared.start.elapsed() + every <= end {
        let began = shared.now();
        let active = faults::inject(cluster, &shared.http, &mut rng, &args.kinds)?;
        // Write availability is measured from when the fault is in force: a write that
        // commits while the partition's rules go in says nothing about recovery.
        let at = shared.now();
        *log.counts.entry(format!("{:?}", active.kind)).or_default() += 1;
        log.started.push((at, active.kind));
        let hold_until = Duration::from_micros(began) + faults::hold(every);
        if active.kind.loses_leader() {
            let old = active.targets.first().copied().unwrap_or(usize::MAX);
            let limit = hold_until.saturating_sub(shared.start.elapsed());
            let new_leader_after = wait_new_leader(cluster, old, limit).map(|_| shared.now() - at);
            log.leader_losses.push(LeaderLoss {
                kind: active.kind,
                at,
                installed_in: at - began,
                new_leader_after,
            });
        }
        log.slow_restarts += active.slow_restarts;
        std::thread::sleep(hold_until.saturating_sub(shared.start.elapsed()));
        faults::heal(cluster, &active)?;
        let next = Duration::from_micros(began) + every;
        std::thread::sleep(next.saturating_sub(shared.start.elapsed()));
    }
    std::thread::sleep(end.saturating_sub(shared.start.elapsed()));
    log.delayed_connections = cluster.link_delay.relayed();
    Ok(log)
}

/// Waits (up to `limit`) until a server other than `old` names a leader other than
/// `old`; that leader's index.
fn wait_new_leader(cluster: &topology::Cluster, old: usize, limit: Duration) -> Option<usize> {
    let quick = workload::Http {
        connect: Duration::from_millis(200),
        call: Duration::from_millis(500),
    };
    let old_rpc = cluster.servers.get(old).map(|s| s.rpc());
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        for s in cluster.servers.iter().filter(|s| Some(s.rpc()) != old_rpc) {
            if let Some(addr) = quick.leader(&s.url())
                && Some(&addr) != old_rpc.as_ref()
            {
                return cluster.servers.iter().position(|x| x.rpc() == addr);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn final_reads(cluster: &topology::Cluster, shared: &workload::Shared) -> Result<(), String> {
    let url = cluster.servers[cluster.leader(&shared.http).ok_or("no leader")?].url();
    // Every key the workers wrote, old generations too: an acknowledged write must
    // survive every fault that came after it.
    let mut keys: Vec<String> = {
        let history = shared.history.lock().unwrap_or_else(|e| e.into_inner());
        history.iter().map(|e| e.key.clone()).collect()
    };
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        let call = shared.now();
        let seen = workload::read_job(&shared.http, &url, &key)
            .map_err(|e| format!("final read of {key}: {e}"))?;
        let ret = Some(shared.now());
        let ev = Event {
            key,
            op: Op::Read { seen },
            call,
            ret,
        };
        shared
            .history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ev);
    }
    Ok(())
}

/// Acknowledged writes that the final read does not show, on keys where the last
/// write is unambiguous (invoked after every other write of the key had returned).
fn lost_writes(history: &[Event]) -> usize {
    let mut keys: Vec<&str> = history.iter().map(|e| e.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut lost = 0;
    for key in keys {
        let ops: Vec<&Event> = history.iter().filter(|e| e.key == key).collect();
        let is_write = |e: &&Event| !matches!(e.op, Op::Read { .. });
        let writes: Vec<&Event> = ops.iter().copied().filter(is_write).collect();
        let Some(last) = writes.iter().max_by_key(|e| e.call) else {
            continue;
        };
        let alone = writes
            .iter()
            .all(|w| std::ptr::eq(*w, *last) || w.ret.is_some_and(|r| r < last.call));
        let final_read = ops
            .iter()
            .filter(|e| e.ret.is_some())
            .max_by_key(|e| e.call);
        let (Some(ret), true, Some(fin)) = (last.ret, alone, final_read) else {
            continue;
        };
        let Op::Read { seen } = &fin.op else { continue };
        if fin.call < ret {
            continue;
        }
        let shows = match (&last.op, seen) {
            (Op::Register { value }, Some((v, _))) => v == value,
            (Op::Deregister, None) => true,
            (
                Op::Scale {
                    count,
                    applied: true,
                },
                Some((_, c)),
            ) => c == count,
            (Op::Scale { applied: false, .. }, None) => true,
            _ => false,
        };
        lost += usize::from(!shows);
    }
    lost
}

/// Write availability: the longest stretch without an acknowledged write; per kind of
/// fault, the longest such stretch that began while that fault was the latest one
/// (which fault a gap comes from); and per kind of leader-losing fault, the longest time
/// from the fault to the first acknowledged write invoked after it.
struct Availability {
    longest_gap: u64,
    gap_by_fault: BTreeMap<String, u64>,
    recovery_by_fault: BTreeMap<String, u64>,
    /// Each leader loss: when it was in force, how long its injection took, and after it
    /// when a new leader was named and the first write invoked was acknowledged (ms).
    losses: Vec<serde_json::Value>,
}

fn availability(acks: &[(u64, u64)], log: &FaultLog, end: u64) -> Availability {
    let mut returns: Vec<u64> = acks.iter().map(|&(_, r)| r).collect();
    returns.sort_unstable();
    let mut gap_by_fault = BTreeMap::<String, u64>::new();
    for w in returns.windows(2) {
        let latest = log.started.iter().rev().find(|&&(t, _)| t <= w[0]);
        let kind = latest.map_or("none".to_string(), |(_, k)| format!("{k:?}"));
        let worst = gap_by_fault.entry(kind).or_default();
        *worst = (*worst).max((w[1] - w[0]) / 1000);
    }
    let mut recovery_by_fault = BTreeMap::<String, u64>::new();
    let mut losses = Vec::new();
    for loss in &log.leader_losses {
        let t = loss.at;
        let recovery = acks
            .iter()
            .filter(|&&(call, _)| call >= t)
            .map(|&(_, ret)| ret - t)
            .min()
            .unwrap_or(end.saturating_sub(t));
        let worst = recovery_by_fault
            .entry(format!("{:?}", loss.kind))
            .or_default();
        *worst = (*worst).max(recovery / 1000);
        losses.push(serde_json::json!({
            "kind": format!("{:?}", loss.kind), "at_ms": t / 1000,
            "installed_in_ms": loss.installed_in / 1000,
            "new_leader_ms": loss.new_leader_after.map(|us| us / 1000),
            "write_recovery_ms": recovery / 1000,
        }));
    }
    Availability {
        longest_gap: gap_by_fault.values().max().copied().unwrap_or(0),
        gap_by_fault,
        recovery_by_fault,
        losses,
    }
}

/// Prints the run's figures; `writes` are the acknowledged writes (call, return) and the
/// unknown outcomes by reason.
fn report(
    args: &Args,
    history: &[Event],
    writes: (&[(u64, u64)], &BTreeMap<String, u64>),
    log: &FaultLog,
    end: u64,
) -> Result<bool, String> {
    let (acks, unknown_reasons) = writes;
    let started = Instant::now();
    let verdicts = checker::check(history);
    let check_ms = started.elapsed().as_millis();
    let violations: Vec<&str> = verdicts
        .iter()
        .filter(|v| v.linearizable == Some(false))
        .map(|v| v.key.as_str())
        .collect();
    let undecided = verdicts.iter().filter(|v| v.linearizable.is_none()).count();
    let lost = lost_writes(history);
    let unknown = history.iter().filter(|e| e.ret.is_none()).count();
    let avail = availability(acks, log, end);
    let out = serde_json::json!({
        "servers": args.servers, "seconds": args.seconds, "seed": args.seed,
        "fault_every_s": args.fault_every, "workers": args.workers, "keys": args.keys,
        "key_lifetime_s": args.key_lifetime,
        "operations": history.len(), "acknowledged_writes": acks.len(),
        "unknown_outcomes": unknown, "unknown_write_outcomes_by_reason": unknown_reasons,
        "faults": log.counts,
        "fault_timeline": log.started.iter()
            .map(|(at, kind)| serde_json::json!([format!("{kind:?}"), at / 1000]))
            .collect::<Vec<_>>(),
        "leader_losses": log.leader_losses.len(),
        "restarts_not_healthy_within_30s": log.slow_restarts,
        "delayed_connections": log.delayed_connections,
        "acknowledged_writes_lost": lost, "linearizability_violations": violations.len(),
        "violating_keys": violations, "undecided_keys": undecided,
        "longest_write_unavailability_ms": avail.longest_gap,
        "longest_write_unavailability_ms_by_fault": avail.gap_by_fault,
        "max_write_recovery_after_leader_loss_ms":
            avail.recovery_by_fault.values().max().copied().unwrap_or(0),
        "max_write_recovery_ms_by_fault": avail.recovery_by_fault,
        "leader_loss_timeline": avail.losses,
        "check_ms": check_ms,
    });
    println!("{out}");
    Ok(lost == 0 && violations.is_empty() && undecided == 0)
}
