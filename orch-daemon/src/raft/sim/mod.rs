//! Deterministic simulation of the Raft servers (issue 23): three or five real openraft
//! nodes with orch's real [`LogStore`](super::LogStore) (on a simulated disk,
//! [`disk::SimDisk`]) and [`StateMachine`](super::StateMachine) (on temp dirs), in one
//! process, on a tokio current-thread runtime with paused (virtual) time, talking over
//! [`net::SimNet`], whose every message's fate (loss, delay, duplication and so
//! reordering, partitions) comes from one seeded [`rng::SplitMix64`]. A workload of
//! writes runs while nodes crash as at a power cut (the `Raft` shut down and dropped; its
//! disk keeps what was fsynced and a seeded prefix of the writes since) and restart (the
//! same disk and dirs reopened). After every step
//! the invariants are checked ([`check`]): the newest leader's log holds every committed
//! entry (one leader per term is not openraft's rule, see [`check`]), a committed entry
//! is never lost or changed; at the end, with the network healed and every node up,
//! all state machines hold the same state (snapshot bytes) and every acknowledged write.
//!
//! Running it:
//! - `cargo test -p orch-daemon --lib raft::sim` runs a fixed set of seeds.
//! - `ORCH_SIM_SEEDS=10000 cargo test -p orch-daemon --lib raft::sim::many -- --ignored
//!   --nocapture` runs seeds 0..10000 (`ORCH_SIM_FIRST` to start elsewhere) and prints
//!   seeds per second.
//! - A failing seed prints itself and `ORCH_SIM_SEED=<seed> cargo test -p orch-daemon
//!   --lib raft::sim::replay -- --ignored --nocapture` runs just that one.
//!
//! Determinism: a run hashes every message's fate and every node's view after each step
//! ([`rng::TraceHash`]). What makes a seed replay:
//! - openraft draws each election timeout from its own `rand::thread_rng()` in
//!   `[election_timeout_min, election_timeout_max)`; the simulation gives each node a
//!   range one millisecond wide, chosen by the seed, so that draw has one outcome.
//! - the log writer thread would complete fsyncs at wall-clock moments, and paused tokio
//!   time auto-advances while the runtime waits for them; the simulation opens the log
//!   with [`LogStore::open_synchronous`](super::LogStore::open_synchronous), where each
//!   write blocks its caller until it is on disk.
//! - snapshots are built, read and written inline
//!   ([`StateMachine::with_inline_snapshot_io`](super::StateMachine::with_inline_snapshot_io)),
//!   not on `spawn_blocking` threads whose result would wake openraft at the thread's
//!   moment.
//! - tokio's unbiased `select!` (in openraft's replication loop) draws from the runtime's
//!   RNG, seeded from the seed (`Builder::rng_seed`, available because
//!   `.cargo/config.toml` builds with `--cfg tokio_unstable`).
//!
//! - the log lives on [`disk::SimDisk`], not in a file: reopening a crashed node's log
//!   no longer waits for the old writer thread to let go of the file's lock (a wait
//!   that let other tasks run a number of times that depended on that thread: seed 188
//!   differed in about one replay of three), and a crashed incarnation's writes go
//!   nowhere, so nothing waits for it at all.
//!
//! Before the snapshot and RNG switches, 29 of seeds 0..1000 did not replay
//! byte-identically (`ORCH_SIM_REPLAY=1` with `many` lists the seeds whose two runs
//! differed); after them, 1 of seeds 0..200 (seed 188); with the simulated disk, none of
//! seeds 0..200.

mod check;
mod cluster;
mod disk;
mod net;
mod rng;

use std::collections::BTreeMap;

use cluster::{Cluster, tick};
use net::{Faults, SimNet};

/// The shape of one run.
#[derive(Debug, Clone, Copy)]
struct SimOptions {
    nodes: usize,
    steps: u32,
    /// Virtual milliseconds per step.
    step_ms: u64,
    /// Entries between snapshots (openraft's `LogsSinceLast`).
    snapshot_every: u64,
    faults: Faults,
    /// Inject the bug of the issue: logs acknowledge appends before their fsync.
    ack_before_fsync: bool,
}

impl SimOptions {
    fn three() -> SimOptions {
        SimOptions {
            nodes: 3,
            steps: 300,
            step_ms: 10,
            snapshot_every: 40,
            faults: Faults {
                loss: 50,
                duplicate: 30,
                max_delay_ms: 20,
            },
            ack_before_fsync: false,
        }
    }
}

/// What a run did (read through its `Debug` form in the printed reports).
#[derive(Debug)]
#[allow(dead_code)]
struct Report {
    trace: u64,
    writes: u64,
    acked: usize,
    committed: usize,
    last_term: u64,
    /// Terms in which two nodes led one after the other (allowed by openraft 0.9).
    shared_terms: usize,
    crashes: u64,
    /// Unsynced writes the crashes lost (see [`disk`]).
    unsynced_lost: u64,
    messages: (u64, u64, u64),
}

fn replay_hint(seed: u64) -> String {
    format!(
        "simulation seed {seed} failed; replay: ORCH_SIM_SEED={seed} cargo test -p orch-daemon \
         --lib raft::sim::replay -- --ignored --nocapture"
    )
}

/// Runs `seed` on its own paused current-thread runtime; a panic inside the run (the
/// simulation's own, or openraft's) is a failure of the seed too.
fn run_seed(seed: u64, opts: SimOptions) -> Result<Report, String> {
    std::panic::catch_unwind(|| run_seed_inner(seed, opts)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(format!("panicked: {}", message.unwrap_or_default()))
    })
}

fn run_seed_inner(seed: u64, opts: SimOptions) -> Result<Report, String> {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all().start_paused(true);
    // tokio's unbiased `select!` (openraft's replication loop has one) draws from the
    // runtime's RNG; `.cargo/config.toml` builds with `--cfg tokio_unstable` so it can be
    // seeded. A build without that flag still runs, but a seed may not replay exactly.
    #[cfg(tokio_unstable)]
    builder.rng_seed(tokio::runtime::RngSeed::from_bytes(&seed.to_le_bytes()));
    let rt = builder.build().map_err(|e| e.to_string())?;
    rt.block_on(run(seed, opts))
}

async fn run(seed: u64, opts: SimOptions) -> Result<Report, String> {
    let net = SimNet::new(seed, opts.faults);
    let mut c = Cluster::start(
        seed,
        opts.nodes,
        net.clone(),
        opts.snapshot_every,
        opts.ack_before_fsync,
    )
    .await;
    let result = drive(&mut c, opts).await;
    c.stop().await;
    result?;
    let (writes, acked) = c.write_counts();
    Ok(Report {
        trace: c.trace.0 ^ net.trace().rotate_left(1),
        writes,
        acked,
        committed: c.checker.committed_len(),
        last_term: c.checker.last_term(),
        shared_terms: c.checker.shared_terms(),
        crashes: c.crashes,
        unsynced_lost: c.unsynced_lost,
        messages: net.counts(),
    })
}

/// The steps of a run, then convergence and the final checks.
async fn drive(c: &mut Cluster, opts: SimOptions) -> Result<(), String> {
    for _ in 0..opts.steps {
        nemesis(c).await;
        if c.rng.chance(300) {
            c.client_write();
        }
        tick(opts.step_ms).await;
        c.check().await?;
    }
    c.net.set_faults(Faults::CALM);
    c.net.partition(BTreeMap::new());
    for i in 0..c.len() {
        c.restart(i).await;
    }
    // 60 s of virtual time to elect a leader and catch everyone up.
    for _ in 0..6000 {
        tick(opts.step_ms).await;
        c.check().await?;
        if c.converged() {
            // Let in-flight acknowledgements land before comparing.
            tick(200).await;
            c.check().await?;
            if c.converged() {
                return c.final_check();
            }
        }
    }
    Err("the cluster did not converge within 60 s of calm".into())
}

/// One step's faults: a crash (1.5 %; never more than a minority down) or restart (3 %),
/// a new partition (0.5 %) or its healing (0.5 %): a partition lasts about a second, long
/// enough for an election.
async fn nemesis(c: &mut Cluster) {
    let (up, down) = c.up_down();
    let minority = (c.len() - 1) / 2;
    let roll = c.rng.below(1000);
    if verbose() && roll < 55 {
        eprintln!("nemesis roll {roll} up {up:?} down {down:?}");
    }
    if roll < 15 && down.len() < minority {
        let i = up[c.rng.below(up.len() as u64) as usize];
        c.crash(i).await;
    } else if roll < 45 && !down.is_empty() {
        let i = down[c.rng.below(down.len() as u64) as usize];
        c.restart(i).await;
    } else if roll < 50 {
        let sides = (1..=c.len() as u64)
            .map(|id| (id, c.rng.below(2) as u8))
            .collect();
        c.net.partition(sides);
    } else if roll < 55 {
        c.net.partition(BTreeMap::new());
    }
}

/// Runs `seeds`, panicking with the replay command at the first failure; with `twice`,
/// runs each seed again and returns the seeds whose trace differed.
fn run_seeds(seeds: impl Iterator<Item = u64>, opts: SimOptions, twice: bool) -> Vec<u64> {
    let mut differed = Vec::new();
    let start = std::time::Instant::now();
    for (n, seed) in seeds.enumerate() {
        if n > 0 && n % 250 == 0 {
            let secs = start.elapsed().as_secs_f64();
            eprintln!("{n} seeds in {secs:.0} s, replays differed: {differed:?}");
        }
        let report = run_seed(seed, opts).unwrap_or_else(|e| panic!("{}\n{e}", replay_hint(seed)));
        if twice {
            let again =
                run_seed(seed, opts).unwrap_or_else(|e| panic!("{}\n{e}", replay_hint(seed)));
            if again.trace != report.trace {
                differed.push(seed);
            }
        }
    }
    differed
}

#[test]
fn three_nodes_keep_every_invariant_on_fixed_seeds() {
    run_seeds(0..40, SimOptions::three(), false);
}

#[test]
fn five_nodes_keep_every_invariant_on_fixed_seeds() {
    let opts = SimOptions {
        nodes: 5,
        ..SimOptions::three()
    };
    run_seeds(100..116, opts, false);
}

/// Seed 9112 (found by the 10,000-seed run): node 2, cut off, still led term 2 with
/// uncommitted entries when node 3's term-3 entry 16 committed on node 1; read before
/// node 3 in that step, node 2 passed for the newest leader and its own entry 16 for a
/// changed committed one. A leader older than a committed entry's term is deposed.
#[test]
fn a_deposed_leader_read_first_is_not_taken_for_the_newest() {
    run_seeds([9112].into_iter(), SimOptions::three(), false);
}

/// Seed 949 on five servers (found by the 10,000-seed run): leader 1 stepped down,
/// built a snapshot and purged its log up to 35 while its old replication stream to
/// node 5 still ran; the log store answered that stream's read of 24..40 with 36..39,
/// sent as if they followed entry 23 (openraft's debug assertion on node 5 stopped it).
/// The store now hands out consecutive entries from a read's start or none
/// (`log_store::ConsecutiveRun`).
#[test]
fn a_stale_replication_stream_gets_no_entries_past_a_purge() {
    let opts = SimOptions {
        nodes: 5,
        ..SimOptions::three()
    };
    run_seeds([949].into_iter(), opts, false);
}

/// Seeds replay byte-identically (seed 188 is the one that did not, see the module doc).
#[test]
fn a_seed_replays_identically() {
    let differed = run_seeds([7, 8, 188].into_iter(), SimOptions::three(), true);
    assert!(
        differed.is_empty(),
        "seeds {differed:?} ran differently twice"
    );
}

/// `ORCH_SIM_VERBOSE=1` prints the nemesis' faults and every node's view as they change.
fn verbose() -> bool {
    std::env::var_os("ORCH_SIM_VERBOSE").is_some()
}

/// `ORCH_SIM_TRACE=<targets>` (for example `openraft=debug`) prints those traces while
/// a seed replays: where openraft's own decisions are needed to read a failure.
fn trace_to_stderr(filter: &str) {
    use tracing_subscriber::prelude::*;
    let targets: tracing_subscriber::filter::Targets = match filter.parse() {
        Ok(t) => t,
        Err(e) => panic!("ORCH_SIM_TRACE={filter}: {e}"),
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = tracing_subscriber::registry()
        .with(targets)
        .with(fmt)
        .try_init();
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Many seeds: `ORCH_SIM_SEEDS` (default 1000) from `ORCH_SIM_FIRST` (default 0), on
/// `ORCH_SIM_NODES` nodes (default 3), a snapshot every `ORCH_SIM_SNAPSHOT_EVERY`
/// entries (default 40); `ORCH_SIM_REPLAY=1` runs each seed twice and
/// reports those whose trace differed.
#[test]
#[ignore = "long: run with ORCH_SIM_SEEDS=10000 ... -- --ignored"]
fn many() {
    let first = env_u64("ORCH_SIM_FIRST").unwrap_or(0);
    let count = env_u64("ORCH_SIM_SEEDS").unwrap_or(1000);
    let opts = SimOptions {
        nodes: env_u64("ORCH_SIM_NODES").unwrap_or(3) as usize,
        snapshot_every: env_u64("ORCH_SIM_SNAPSHOT_EVERY").unwrap_or(40),
        ..SimOptions::three()
    };
    let twice = std::env::var_os("ORCH_SIM_REPLAY").is_some();
    let start = std::time::Instant::now();
    let differed = run_seeds(first..first + count, opts, twice);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{count} seeds ({} nodes) in {secs:.1} s: {:.2} seeds/s, 0 violations",
        opts.nodes,
        count as f64 / secs
    );
    if twice {
        println!("seeds whose replay differed: {differed:?}");
    }
}

/// One seed from `ORCH_SIM_SEED`, run twice: prints its report and whether it replayed.
#[test]
#[ignore = "replays ORCH_SIM_SEED"]
fn replay() {
    let seed = env_u64("ORCH_SIM_SEED").unwrap_or(0);
    let nodes = env_u64("ORCH_SIM_NODES").unwrap_or(3) as usize;
    if let Ok(filter) = std::env::var("ORCH_SIM_TRACE") {
        trace_to_stderr(&filter);
    }
    let opts = SimOptions {
        nodes,
        ..SimOptions::three()
    };
    let a = run_seed(seed, opts).unwrap_or_else(|e| panic!("{}\n{e}", replay_hint(seed)));
    let b = run_seed(seed, opts).unwrap_or_else(|e| panic!("{}\n{e}", replay_hint(seed)));
    println!(
        "seed {seed}: {a:?}\nreplayed identically: {}",
        a.trace == b.trace
    );
}

#[test]
fn an_isolated_leader_is_replaced() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let net = SimNet::new(1, Faults::CALM);
        let mut c = Cluster::start(1, 3, net.clone(), 1000, false).await;
        for _ in 0..50 {
            tick(10).await;
            c.check().await.unwrap();
        }
        net.partition([(1, 1), (2, 0), (3, 0)].into_iter().collect());
        for _ in 0..200 {
            tick(10).await;
            c.check().await.unwrap();
        }
        assert!(c.checker.last_term() > 1, "no new leader");
        c.stop().await;
    });
}

/// The leader is cut off right after its last entries reached only one follower, B;
/// the other, A, has the shorter election timeout, so it campaigns first and cannot
/// win. B campaigns once it refused A's vote and its lease lapsed (`raft::election`)
/// instead of after its own, longer timeout (and, on a tie of the term, one more).
#[test]
fn the_follower_with_the_longer_log_leads_soon_after_the_leader_is_lost() {
    if let Ok(filter) = std::env::var("ORCH_SIM_TRACE") {
        trace_to_stderr(&filter);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let mut tried = 0;
    for seed in 1..200 {
        let measured = rt.block_on(longer_log_takeover(seed));
        let Some((a_ms, b_ms, took)) = measured else {
            continue;
        };
        tried += 1;
        // A campaigns at 2 * a_ms - 100; B refuses (for the lease until b_ms, for the
        // log after) and campaigns then. Without that, B would start at 2 * b_ms.
        let due = (2 * a_ms).saturating_sub(99).max(b_ms + 1);
        assert!(
            took.as_millis() as u64 <= due + 60,
            "seed {seed}: A {a_ms} ms, B {b_ms} ms: a new leader took {took:?}"
        );
        if tried == 3 {
            return;
        }
    }
    panic!("fewer than 3 seeds gave the two followers timeouts 60 ms apart");
}

/// One run of the test above: `None` when the seed's followers' timeouts are not at
/// least 60 ms apart; otherwise A's and B's timeouts and the time to the new leader.
async fn longer_log_takeover(seed: u64) -> Option<(u64, u64, std::time::Duration)> {
    let net = SimNet::new(seed, Faults::CALM);
    let mut c = Cluster::start(seed, 3, net.clone(), 1000, false).await;
    let leader = loop {
        tick(10).await;
        c.check().await.unwrap();
        if let Some(i) = (0..3).find(|&i| {
            c.metrics_of(i)
                .is_some_and(|m| m.state == openraft::ServerState::Leader)
        }) {
            break i;
        }
    };
    let mut followers: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    followers.sort_by_key(|&i| c.id_and_timeout(i).1);
    let ((a_id, a_ms), (b_id, b_ms)) = (
        c.id_and_timeout(followers[0]),
        c.id_and_timeout(followers[1]),
    );
    let l_id = c.id_and_timeout(leader).0;
    if b_ms < a_ms + 60 {
        c.stop().await;
        return None;
    }
    // A cut off for 100 ms (less than its election timeout); writes commit on the
    // leader and B meanwhile.
    net.partition([(a_id, 1), (b_id, 0), (l_id, 0)].into_iter().collect());
    for _ in 0..10 {
        c.client_write();
        tick(10).await;
        c.check().await.unwrap();
    }
    // Then the leader alone is cut off, and A rejoins B.
    net.partition([(a_id, 0), (b_id, 0), (l_id, 1)].into_iter().collect());
    let start = tokio::time::Instant::now();
    let took = loop {
        tick(5).await;
        c.check().await.unwrap();
        let new_leader = followers.iter().any(|&i| {
            c.metrics_of(i)
                .is_some_and(|m| m.state == openraft::ServerState::Leader)
        });
        if new_leader {
            break start.elapsed();
        }
        assert!(
            start.elapsed().as_secs() < 10,
            "seed {seed}: no new leader in 10 s"
        );
    };
    c.stop().await;
    Some((a_ms, b_ms, took))
}

/// The bug of the issue, injected: logs acknowledge appends committed without an fsync,
/// and a crash of the simulated disk loses them. The simulator must catch it within a
/// few seeds.
#[test]
fn the_simulator_finds_appends_acknowledged_before_their_fsync() {
    let opts = SimOptions {
        ack_before_fsync: true,
        ..SimOptions::three()
    };
    let found = (0..200).find_map(|seed| run_seed(seed, opts).err().map(|e| (seed, e)));
    let (seed, error) = found.expect("200 seeds passed with the injected bug");
    println!("injected bug found by seed {seed}: {error}");
}
