//! Replication health: whether each server keeps up with the log, and why not.
//!
//! Why: openraft retries a failing replication stream forever without a word, so a server
//! that could not catch up (a snapshot the peer refused, a partition) left the cluster
//! one failure from an outage while every endpoint said all was well. Here:
//! - [`Contacts`] records when each peer last answered the leader (and its last error),
//!   and when this server last heard from a leader; the network client and the RPC
//!   handlers write it.
//! - [`run`] refreshes a [`RaftHealth`] every second from openraft's metrics and the
//!   contacts; a follower also fetches the leader's view ([`HEALTH_PATH`]) to learn how
//!   far it trails. It logs at `warn` when this server, or (on the leader) a peer, stops
//!   keeping up, naming the reason, and at `info` when it recovers.
//!
//! Thresholds follow Nomad's autopilot (`max_trailing_logs` 250), with the last-contact
//! limit scaled to the heartbeat (Nomad's 200 ms assumes its own timing).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

// tokio's clock: the simulation (`raft::sim`) runs it paused, in virtual time.
use tokio::time::Instant;

use openraft::ServerState;

use super::network::HttpNetwork;
use super::types::{NodeId, OrchRaft};
use crate::server::{RaftHealth, ServerProgress};

/// The RPC route answering this server's [`RaftHealth`] as JSON.
pub const HEALTH_PATH: &str = "/raft/health";

/// Entries a server may trail the leader by and still be healthy, by default (Nomad's
/// autopilot `MaxTrailingLogs`; the replicated autopilot configuration decides).
pub const MAX_TRAILING_ENTRIES: u64 = 250;

/// What counts as healthy, from the replicated autopilot configuration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Longest silence that is healthy: `LastContactThreshold`, but never under the
    /// monitor's floor (Raft heartbeats here are far apart compared with Nomad's, and a
    /// loaded machine delays them; a threshold no server can meet would only flap).
    pub last_contact: Duration,
    /// `MaxTrailingLogs`.
    pub max_trailing: u64,
}

impl Limits {
    fn of(config: &orch_core::model::AutopilotConfiguration, floor: Duration) -> Limits {
        let threshold =
            Duration::from_nanos(u64::try_from(config.last_contact_threshold_nanos).unwrap_or(0));
        Limits {
            last_contact: threshold.max(floor),
            max_trailing: config.max_trailing_logs,
        }
    }
}

/// How often the health is refreshed.
const REFRESH: Duration = Duration::from_secs(1);

/// The shortest wait between refreshes (a change of leader refreshes early).
const MIN_REFRESH: Duration = Duration::from_millis(100);

/// No warnings this soon after the server started (elections and catching up after a
/// restart take a moment; the health endpoints report it meanwhile).
const STARTUP_GRACE: Duration = Duration::from_secs(10);

/// While unhealthy, the warning is repeated this often.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// When peers last answered, and when a leader was last heard from.
#[derive(Debug, Default)]
pub struct Contacts {
    peers: Mutex<BTreeMap<NodeId, PeerContact>>,
    leader: Mutex<Option<Instant>>,
    /// When any peer last reached this server or answered it.
    any_peer: Mutex<Option<Instant>>,
}

#[derive(Debug, Default, Clone)]
struct PeerContact {
    last_ok: Option<Instant>,
    last_error: Option<(Instant, String)>,
}

impl Contacts {
    /// A peer answered an RPC (whatever it said: it is reachable and running).
    pub fn peer_answered(&self, peer: NodeId) {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.entry(peer).or_default().last_ok = Some(Instant::now());
        drop(peers);
        self.heard_from_peer();
    }

    /// A peer's request reached this server (a vote, an append, a snapshot chunk).
    pub fn heard_from_peer(&self) {
        *self.any_peer.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// How long since any peer last reached or answered this server.
    pub fn since_any_peer(&self) -> Option<Duration> {
        self.any_peer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|t| t.elapsed())
    }

    /// An RPC to a peer failed.
    pub fn peer_failed(&self, peer: NodeId, error: String) {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.entry(peer).or_default().last_error = Some((Instant::now(), error));
    }

    /// A leader's AppendEntries or snapshot was accepted here.
    pub fn heard_from_leader(&self) {
        *self.leader.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        self.heard_from_peer();
    }

    /// On a leader (`me`) of `voters`: how long since a quorum of them last answered,
    /// counting itself; `None` when fewer than a quorum ever answered.
    pub fn quorum_silence(&self, me: NodeId, voters: &[NodeId]) -> Option<Duration> {
        // A majority of the voters, less this server.
        let need = voters.len() / 2 + 1 - usize::from(voters.contains(&me));
        if need == 0 {
            return Some(Duration::ZERO);
        }
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let mut ages: Vec<Duration> = voters
            .iter()
            .filter(|id| **id != me)
            .filter_map(|id| peers.get(id)?.last_ok.map(|t| t.elapsed()))
            .collect();
        ages.sort_unstable();
        ages.get(need - 1).copied()
    }

    fn peer(&self, peer: NodeId) -> PeerContact {
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.get(&peer).cloned().unwrap_or_default()
    }

    /// How long since a leader's AppendEntries or snapshot was last accepted here.
    pub fn since_leader(&self) -> Option<Duration> {
        self.leader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|t| t.elapsed())
    }
}

/// The latest health, shared between the refresh task and its readers.
pub type SharedHealth = Arc<RwLock<RaftHealth>>;

/// The health before the first refresh: not yet known, so not healthy.
pub fn unmeasured() -> SharedHealth {
    Arc::new(RwLock::new(RaftHealth {
        healthy: false,
        reason: "replication health is not measured yet (the server just started)".into(),
        ..RaftHealth::default()
    }))
}

/// What a refresh needs.
pub struct Monitor {
    /// The server's Raft.
    pub raft: OrchRaft,
    /// Its contacts.
    pub contacts: Arc<Contacts>,
    /// For fetching the leader's view.
    pub network: HttpNetwork,
    /// The shortest silence from the leader (or, on the leader, from a peer) that may
    /// count as unhealthy, whatever `LastContactThreshold` says.
    pub contact_floor: Duration,
    /// Where the health is published.
    pub health: SharedHealth,
    /// The state, for the autopilot configuration.
    pub state: crate::server::StateHandle,
    /// The data dir's disk reserve: while short, this server is unhealthy and, leading,
    /// hands leadership to a healthy voter.
    pub reserve: crate::disk::DiskReserve,
    /// For handing leadership away.
    pub transfer: super::transfer::TransferContext,
}

/// How often a leader short of disk space tries to hand leadership away.
const STEP_DOWN_EVERY: Duration = Duration::from_secs(10);

/// Refreshes `monitor.health` every second until the Raft instance shuts down.
pub async fn run(monitor: Monitor) {
    let mut log = HealthLog::default();
    let mut previous_applied = None;
    let mut cleanup = super::autopilot::DeadServerCleanup::default();
    let mut last_step_down = None;
    loop {
        let metrics = monitor.raft.metrics().borrow().clone();
        if metrics.running_state.is_err() || metrics.state == ServerState::Shutdown {
            return;
        }
        let config = monitor.state.read().autopilot_config().clone();
        let limits = Limits::of(&config, monitor.contact_floor);
        let applied = metrics.last_applied.map_or(0, |l| l.index);
        let health = if metrics.state == ServerState::Leader {
            let view = leader_view(&monitor, &metrics, limits);
            cleanup.run(&monitor.raft, &metrics, &view, &config).await;
            super::autopilot::promote_stable_servers(&monitor.raft, &metrics, &view, &config).await;
            view
        } else {
            cleanup = super::autopilot::DeadServerCleanup::default();
            follower_view(&monitor, &metrics, limits, applied, previous_applied).await
        };
        previous_applied = Some(applied);
        let mut health = health;
        if !monitor.reserve.has_room() {
            mark_short_of_disk(&mut health, &monitor.reserve);
            if metrics.state == ServerState::Leader
                && last_step_down.is_none_or(|t: Instant| t.elapsed() >= STEP_DOWN_EVERY)
            {
                last_step_down = Some(Instant::now());
                step_down(&monitor, &health, metrics.id);
            }
        }
        log.report(&health);
        *monitor.health.write().unwrap_or_else(|e| e.into_inner()) = health;
        wait_for_refresh(&monitor.raft, metrics.current_leader).await;
    }
}

/// A server that cannot write its data dir is unhealthy whatever its replication says.
fn mark_short_of_disk(health: &mut RaftHealth, reserve: &crate::disk::DiskReserve) {
    let why = reserve.shortage().unwrap_or_default();
    health.healthy = false;
    health.reason = format!("this server cannot write its Raft log: {why}");
    health.storage = why;
}

/// Hands leadership to the first healthy voter, in the background: a leader that cannot
/// write its own log keeps the cluster writable only while its followers can, and its
/// unwritten entries pile up in memory.
fn step_down(monitor: &Monitor, health: &RaftHealth, me: NodeId) {
    let Some(target) = health
        .servers
        .iter()
        .find(|(id, p)| **id != me && p.healthy)
        .map(|(id, _)| *id)
    else {
        tracing::warn!(
            "short of disk space while leading, and no healthy server to hand leadership to"
        );
        return;
    };
    let ctx = monitor.transfer.clone();
    tokio::spawn(async move {
        let target = crate::server::PeerTarget::Id(target);
        let reply = super::transfer::transfer_on_leader(&ctx, &target).await;
        tracing::warn!(
            ?reply,
            "handing leadership away: this server is short of disk space"
        );
    });
}

/// Waits [`REFRESH`], or less (but at least [`MIN_REFRESH`]) when the leader changes,
/// so health follows an election at once without being recomputed on every write.
async fn wait_for_refresh(raft: &OrchRaft, leader: Option<NodeId>) {
    let mut rx = raft.metrics();
    tokio::time::sleep(MIN_REFRESH).await;
    let leader_changed = async {
        loop {
            if rx.borrow_and_update().current_leader != leader {
                return;
            }
            if rx.changed().await.is_err() {
                // Raft stopped: the caller notices on its next read.
                return;
            }
        }
    };
    let _ = tokio::time::timeout(REFRESH.saturating_sub(MIN_REFRESH), leader_changed).await;
}

type Metrics = openraft::RaftMetrics<NodeId, openraft::BasicNode>;

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The leader's view: every member's matched index and last answer.
fn leader_view(monitor: &Monitor, metrics: &Metrics, limits: Limits) -> RaftHealth {
    let last = metrics.last_log_index.unwrap_or(0);
    let replication = metrics.replication.clone().unwrap_or_default();
    let previous = monitor
        .health
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .servers
        .clone();
    let mut servers = BTreeMap::new();
    for (id, _) in metrics.membership_config.membership().nodes() {
        let mut progress = if *id == metrics.id {
            ServerProgress {
                last_contact_ms: Some(0),
                last_index: last,
                lag: 0,
                healthy: true,
                last_error: String::new(),
                last_term: metrics.current_term,
                stable_since_nanos: 0,
            }
        } else {
            let matched_log = replication.get(id).copied().flatten();
            let matched = matched_log.map_or(0, |l| l.index);
            let contact = monitor.contacts.peer(*id);
            let since = contact.last_ok.map(|t| t.elapsed());
            let lag = last.saturating_sub(matched);
            let healthy =
                since.is_some_and(|d| d <= limits.last_contact) && lag <= limits.max_trailing;
            let last_error = match (&contact.last_error, contact.last_ok) {
                (Some((at, e)), ok) if !healthy && ok.is_none_or(|ok| *at >= ok) => e.clone(),
                _ => String::new(),
            };
            ServerProgress {
                last_contact_ms: since.map(millis),
                last_index: matched,
                lag,
                healthy,
                last_error,
                last_term: matched_log.map_or(0, |l| l.leader_id.term),
                stable_since_nanos: 0,
            }
        };
        progress.stable_since_nanos = stable_since(previous.get(id), progress.healthy);
        servers.insert(*id, progress);
    }
    // A lone voter is its own quorum (openraft may report no acknowledgement then).
    let alone = metrics.membership_config.membership().voter_ids().count() <= 1;
    let quorum = alone
        || metrics
            .millis_since_quorum_ack
            .is_some_and(|ms| ms <= millis(limits.last_contact));
    RaftHealth {
        healthy: quorum,
        reason: if quorum {
            String::new()
        } else {
            "this leader has not heard from a quorum of servers recently; check that the other servers run and are reachable".into()
        },
        lag: 0,
        leader_contact_ms: Some(0),
        servers,
        storage: String::new(),
    }
}

/// Since when a server has been as healthy (or not) as it is now: kept from the last
/// refresh while unchanged, now when it changed or is new.
fn stable_since(previous: Option<&ServerProgress>, healthy: bool) -> i64 {
    match previous {
        Some(p) if p.healthy == healthy && p.stable_since_nanos > 0 => p.stable_since_nanos,
        _ => crate::clock::now_nanos(),
    }
}

/// A follower's view: how long since the leader spoke, and how far behind it is.
async fn follower_view(
    monitor: &Monitor,
    metrics: &Metrics,
    limits: Limits,
    applied: u64,
    previous_applied: Option<u64>,
) -> RaftHealth {
    let since_leader = monitor.contacts.since_leader();
    let leader_addr = metrics.current_leader.and_then(|id| {
        let node = metrics.membership_config.membership().get_node(&id)?;
        Some(node.addr.clone())
    });
    let Some(addr) = leader_addr else {
        return RaftHealth {
            healthy: false,
            reason: "no cluster leader known: an election is under way, or this server cannot reach a quorum of the others".into(),
            leader_contact_ms: since_leader.map(millis),
            ..RaftHealth::default()
        };
    };
    let previous = monitor
        .health
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let servers = fetch_leader_view(&monitor.network, &addr)
        .await
        .map_or(previous.servers, |view| view.servers);
    let leader_last = metrics
        .current_leader
        .and_then(|id| servers.get(&id))
        .map(|p| p.last_index);
    let lag = leader_last.map_or(previous.lag, |last| last.saturating_sub(applied));
    let stuck = previous_applied == Some(applied);
    let reason = follower_reason(&addr, since_leader, limits, lag, stuck);
    RaftHealth {
        healthy: reason.is_empty(),
        reason,
        lag,
        leader_contact_ms: since_leader.map(millis),
        servers,
        storage: String::new(),
    }
}

/// Why a follower does not keep up (empty when it does): silent leader, or too far behind.
fn follower_reason(
    leader: &str,
    since_leader: Option<Duration>,
    limits: Limits,
    lag: u64,
    stuck: bool,
) -> String {
    if since_leader.is_none_or(|d| d > limits.last_contact) {
        return format!(
            "no word from the leader at {leader} for {}; it may be unreachable, or it cannot send this server the log or a snapshot (see the leader's log)",
            since_leader.map_or("ever".to_string(), |d| format!("{} ms", millis(d)))
        );
    }
    if lag > limits.max_trailing {
        let progress = if stuck {
            "not catching up: its applied index has not moved"
        } else {
            "catching up"
        };
        return format!(
            "{lag} entries behind the leader ({progress}); stale reads here miss recent writes"
        );
    }
    String::new()
}

async fn fetch_leader_view(network: &HttpNetwork, addr: &str) -> Option<RaftHealth> {
    let resp = network
        .http()
        .get(network.url(addr, HEALTH_PATH))
        .timeout(REFRESH)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

/// Logs health changes: a warning when this server or a peer stops keeping up (again
/// every [`WARN_EVERY`] while it lasts), a note when it recovers.
struct HealthLog {
    /// Unhealthy since the last warning, by subject (`None`: this server).
    warned: BTreeMap<Option<NodeId>, Instant>,
    /// When monitoring began: a server that just started has no leader yet, which is
    /// not worth a warning until [`STARTUP_GRACE`] has passed.
    started: Instant,
}

impl Default for HealthLog {
    fn default() -> Self {
        HealthLog {
            warned: BTreeMap::new(),
            started: Instant::now(),
        }
    }
}

impl HealthLog {
    fn report(&mut self, health: &RaftHealth) {
        self.subject(None, health.healthy, || health.reason.clone());
        // Peers are judged by the leader only: a follower's copy is the leader's report.
        if health.leader_contact_ms == Some(0) {
            for (id, p) in &health.servers {
                self.subject(Some(*id), p.healthy, || peer_reason(*id, p));
            }
        }
    }

    fn subject(&mut self, who: Option<NodeId>, healthy: bool, reason: impl Fn() -> String) {
        if healthy {
            if self.warned.remove(&who).is_some() {
                match who {
                    None => tracing::info!("raft: this server keeps up with the leader again"),
                    Some(id) => tracing::info!(peer = id, "raft: server keeps up again"),
                }
            }
            return;
        }
        let due = self.started.elapsed() >= STARTUP_GRACE
            && self
                .warned
                .get(&who)
                .is_none_or(|at| at.elapsed() >= WARN_EVERY);
        if due {
            match who {
                None => tracing::warn!(reason = %reason(), "raft: this server is not keeping up"),
                Some(id) => {
                    tracing::warn!(peer = id, reason = %reason(), "raft: a server is not keeping up")
                }
            }
            self.warned.insert(who, Instant::now());
        }
    }
}

fn peer_reason(id: NodeId, p: &ServerProgress) -> String {
    let contact = p
        .last_contact_ms
        .map_or("never answered".to_string(), |ms| {
            format!("last answered {ms} ms ago")
        });
    let error = if p.last_error.is_empty() {
        String::new()
    } else {
        format!("; last error: {}", p.last_error)
    };
    format!("server {id} trails by {} entries, {contact}{error}", p.lag)
}

#[cfg(test)]
mod tests;
