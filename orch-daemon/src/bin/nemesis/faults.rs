//! The nemesis: one fault at a time, chosen by the seed, held, then healed.
//!
//! Partitions and packet loss are iptables rules inside the servers' namespaces (only
//! traffic between servers is cut; the clients still reach every server, as in Jepsen).
//! `tc netem` would add loss and a fixed delay, but this machine's kernel has no
//! `sch_netem` (and no modules to load): loss is injected with `iptables -m statistic`,
//! a fixed delay by relaying a server's connections through the nemesis (`delay`), and
//! the delay of a congested link with a token bucket (`tc qdisc tbf`, which this kernel
//! has) on a server's link, which queues what exceeds its rate, so packets wait up to its
//! latency bound under load and are dropped past it.

use std::time::Duration;

use super::topology::{Cluster, DATA_DIR_MB, sh};
use super::workload::Http;
use orch_core::scheduler::rng::SchedRng as Rng;

/// The kinds of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `kill -9` of the leader, restarted at the heal.
    KillLeader,
    /// `kill -9` of a random server, restarted at the heal.
    KillRandom,
    /// `SIGSTOP` of the leader, longer than the election timeout.
    PauseLeader,
    /// A random server cut off from the other servers.
    PartitionMinority,
    /// The leader on the minority side.
    PartitionLeader,
    /// Two halves that only one server (the bridge) talks to both of (five servers).
    PartitionBridge,
    /// 30% of the packets a random server receives from the others dropped.
    PacketLoss,
    /// [`LINK_DELAY`](super::delay::LINK_DELAY) added each way to every connection
    /// between a random server and the other servers.
    LinkDelay,
    /// A random server's link throttled to [`SLOW_LINK_RATE`] with up to
    /// [`SLOW_LINK_LATENCY`] queued: delay (and loss past it) under load.
    SlowLink,
    /// A random server's data dir filled to 16 MiB free (under the 64 MiB reserve).
    DiskFull,
    /// Every server restarted in turn (SIGTERM, start, healthy), as an upgrade does.
    RollingRestart,
}

impl Kind {
    /// Whether this fault takes the leader away (write availability is measured after).
    pub fn loses_leader(self) -> bool {
        matches!(
            self,
            Kind::KillLeader | Kind::PauseLeader | Kind::PartitionLeader
        )
    }

    /// The kind named `name` (its name in the report, e.g. `PartitionLeader`).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::all(9).into_iter().find(|k| format!("{k:?}") == name)
    }

    /// The kinds a cluster of `servers` can be given (a bridge needs five).
    pub fn all(servers: usize) -> Vec<Kind> {
        let mut v = vec![
            Kind::KillLeader,
            Kind::KillRandom,
            Kind::PauseLeader,
            Kind::PartitionMinority,
            Kind::PartitionLeader,
            Kind::PacketLoss,
            Kind::DiskFull,
            Kind::RollingRestart,
            Kind::SlowLink,
            Kind::LinkDelay,
        ];
        if servers >= 5 {
            v.push(Kind::PartitionBridge);
        }
        v
    }
}

/// A fault in force, to heal.
pub struct Active {
    pub kind: Kind,
    /// The servers it touched.
    pub targets: Vec<usize>,
    /// Servers of a rolling restart not healthy within 30 s of their restart.
    pub slow_restarts: u64,
}

/// Picks one of `kinds` and injects it.
pub fn inject(
    cluster: &mut Cluster,
    http: &Http,
    rng: &mut Rng,
    kinds: &[Kind],
) -> Result<Active, String> {
    let n = cluster.servers.len();
    let kind = kinds[rng.below(kinds.len() as u64) as usize];
    let leader = cluster.leader(http);
    let random = rng.below(n as u64) as usize;
    let target = if kind.loses_leader() {
        leader.unwrap_or(random)
    } else {
        random
    };
    let mut slow_restarts = 0;
    let targets = match kind {
        Kind::KillLeader | Kind::KillRandom => {
            cluster.kill(target);
            vec![target]
        }
        Kind::PauseLeader => {
            cluster.signal(target, libc::SIGSTOP);
            vec![target]
        }
        Kind::PartitionMinority | Kind::PartitionLeader => {
            let others: Vec<usize> = (0..n).filter(|&i| i != target).collect();
            cut(cluster, &[target], &others)?;
            vec![target]
        }
        Kind::PartitionBridge => {
            // [a, b] | bridge | [the rest]: the halves cannot talk; the bridge talks to all.
            let bridge = target;
            let rest: Vec<usize> = (0..n).filter(|&i| i != bridge).collect();
            let (left, right) = rest.split_at(rest.len() / 2);
            cut(cluster, left, right)?;
            rest
        }
        Kind::SlowLink => {
            slow_link(cluster, target)?;
            vec![target]
        }
        Kind::LinkDelay => {
            cluster.link_delay.inject(&cluster.servers, target)?;
            vec![target]
        }
        Kind::PacketLoss => {
            lose_packets(cluster, target)?;
            vec![target]
        }
        Kind::DiskFull => {
            fill(&cluster.servers[target].data)?;
            vec![target]
        }
        Kind::RollingRestart => {
            for i in 0..n {
                // A server slow to be healthy again is an availability finding, not the
                // end of the run: the next one is restarted all the same.
                if let Err(e) = cluster.restart_gracefully(i, http) {
                    eprintln!("nemesis: rolling restart: {e}");
                    slow_restarts += 1;
                }
            }
            (0..n).collect()
        }
    };
    Ok(Active {
        kind,
        targets,
        slow_restarts,
    })
}

/// Drops all traffic between every server of `a` and every server of `b`. Each server's
/// rules go in at once (one `iptables-restore`), side `a` first: a partition put in
/// rule by rule took long enough that one follower lost the leader well before the
/// other, whose longer log then lost the first election (a slow election the nemesis
/// itself caused).
fn cut(cluster: &Cluster, a: &[usize], b: &[usize]) -> Result<(), String> {
    let rules = |others: &[usize]| {
        let mut text = String::from("*filter\n");
        for &o in others {
            let ip = &cluster.servers[o].ip;
            text.push_str(&format!(
                "-A INPUT -s {ip} -j DROP\n-A OUTPUT -d {ip} -j DROP\n"
            ));
        }
        text.push_str("COMMIT\n");
        text
    };
    for &x in a {
        cluster.servers[x].exec_input(&["iptables-restore", "--noflush"], &rules(b))?;
    }
    for &y in b {
        cluster.servers[y].exec_input(&["iptables-restore", "--noflush"], &rules(a))?;
    }
    Ok(())
}

/// Throttles server `target`'s link ([`Kind::SlowLink`]).
fn slow_link(cluster: &Cluster, target: usize) -> Result<(), String> {
    let s = &cluster.servers[target];
    s.exec(&[
        "tc",
        "qdisc",
        "add",
        "dev",
        &s.dev,
        "root",
        "tbf",
        "rate",
        SLOW_LINK_RATE,
        "burst",
        "16kb",
        "latency",
        SLOW_LINK_LATENCY,
    ])
}

/// Drops 30% of what server `target` receives from the other servers
/// ([`Kind::PacketLoss`]).
fn lose_packets(cluster: &Cluster, target: usize) -> Result<(), String> {
    let s = &cluster.servers[target];
    for (i, other) in cluster.servers.iter().enumerate() {
        if i != target {
            s.exec(&[
                "iptables",
                "-A",
                "INPUT",
                "-s",
                &other.ip,
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                "0.3",
                "-j",
                "DROP",
            ])?;
        }
    }
    Ok(())
}

const FILLER: &str = "nemesis-filler";

/// The rate a slow link is throttled to: Raft's heartbeats pass, a burst of appends and
/// answers queues.
pub const SLOW_LINK_RATE: &str = "256kbit";

/// The most a packet waits in a slow link's queue before it is dropped.
pub const SLOW_LINK_LATENCY: &str = "800ms";

/// Fills the tmpfs at `data` to 16 MiB free.
fn fill(data: &std::path::Path) -> Result<(), String> {
    let free = orch_daemon::disk::measure(data)
        .map(|(_, free)| free)
        .ok_or("cannot measure the data dir")?;
    let want = free.saturating_sub(16 << 20).min(DATA_DIR_MB << 20);
    let f = std::fs::File::create(data.join(FILLER)).map_err(|e| e.to_string())?;
    // tmpfs has no holes to speak of for written data: write it.
    use std::io::Write;
    let mut w = std::io::BufWriter::new(f);
    let chunk = vec![0x5a_u8; 1 << 20];
    let mut done = 0;
    while done < want {
        let n = chunk
            .len()
            .min(usize::try_from(want - done).unwrap_or(usize::MAX));
        w.write_all(&chunk[..n]).map_err(|e| e.to_string())?;
        done += n as u64;
    }
    w.flush().map_err(|e| e.to_string())
}

/// Undoes `active`: restarts, resumes, flushes the rules, frees the disk.
pub fn heal(cluster: &mut Cluster, active: &Active) -> Result<(), String> {
    match active.kind {
        Kind::KillLeader | Kind::KillRandom => {
            for &t in &active.targets {
                cluster.launch(t)?;
            }
        }
        Kind::PauseLeader => {
            for &t in &active.targets {
                cluster.signal(t, libc::SIGCONT);
            }
        }
        Kind::DiskFull => {
            for &t in &active.targets {
                let _ = std::fs::remove_file(cluster.servers[t].data.join(FILLER));
            }
        }
        Kind::SlowLink => {
            for &t in &active.targets {
                let s = &cluster.servers[t];
                s.exec(&["tc", "qdisc", "del", "dev", &s.dev, "root"])?;
            }
        }
        Kind::LinkDelay => {
            for &t in &active.targets {
                cluster.link_delay.heal(&cluster.servers, t)?;
            }
        }
        Kind::RollingRestart
        | Kind::PartitionMinority
        | Kind::PartitionLeader
        | Kind::PartitionBridge
        | Kind::PacketLoss => {}
    }
    for s in &cluster.servers {
        s.exec(&["iptables", "-F"])?;
    }
    Ok(())
}

/// Fails early, with what to install, when the tools the nemesis drives are missing.
pub fn preflight() -> Result<(), String> {
    for tool in [["ip", "-V"], ["iptables", "-V"], ["tc", "-V"], ["ss", "-V"]] {
        sh(&tool).map_err(|e| format!("{e}; install iproute2 and iptables and run as root"))?;
    }
    Ok(())
}

/// How long a fault is held: half the interval, at least the election timeout twice.
pub fn hold(every: Duration) -> Duration {
    (every / 2).max(Duration::from_secs(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_named_as_the_report_names_it() {
        for kind in Kind::all(5) {
            assert_eq!(Kind::parse(&format!("{kind:?}")), Some(kind));
        }
        assert_eq!(Kind::parse("Meteor"), None);
        assert!(!Kind::all(3).contains(&Kind::PartitionBridge));
    }
}
