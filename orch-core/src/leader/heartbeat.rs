//! Client heartbeat timers (Nomad's `nodeHeartbeater`), on a clock the caller gives:
//! the servers pass monotonic nanoseconds, the simulator its virtual time. A heartbeat
//! gets a TTL that grows with the number of clients so the leader sees at most
//! `max_per_second` heartbeats, plus a random stagger of up to the same again so
//! heartbeats spread out; a node whose timer runs out (TTL plus grace) is marked as
//! [`missed_heartbeat_status`] says: `disconnected` when a group on it may wait for
//! it, `down` otherwise.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::node_status;
use crate::scheduler::rng::SchedRng;
use crate::scheduler::triggers::missed_heartbeat_status;
use crate::state::StateStore;

/// Nomad's `RateScaledInterval`: the heartbeat interval that keeps `nodes` clients at
/// or below `per_second` heartbeats per second, never below `min`.
pub fn scaled_ttl(min: Duration, per_second: f64, nodes: usize) -> Duration {
    if per_second <= 0.0 || !per_second.is_finite() {
        return min;
    }
    let scaled = Duration::try_from_secs_f64(nodes as f64 / per_second).unwrap_or(min);
    scaled.max(min)
}

/// The timers' settings (the agent's `min_heartbeat_ttl`, `heartbeat_grace` and
/// `max_heartbeats_per_second`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeartbeatConfig {
    /// The shortest TTL a client gets.
    pub min_ttl: Duration,
    /// Extra time after the TTL before a silent client is marked.
    pub grace: Duration,
    /// Heartbeats per second the leader accepts at most.
    pub max_per_second: f64,
}

impl Default for HeartbeatConfig {
    /// orch's defaults: a dead client is noticed within 2 × 4 s + 3 s (Nomad's are
    /// 10 s and 10 s), so its work runs elsewhere within 20 s.
    fn default() -> Self {
        HeartbeatConfig {
            min_ttl: Duration::from_secs(4),
            grace: Duration::from_secs(3),
            max_per_second: 50.0,
        }
    }
}

/// When each client must have heartbeated again, in the caller's nanoseconds.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatTimers {
    config: HeartbeatConfig,
    deadlines: BTreeMap<String, i64>,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl HeartbeatTimers {
    /// No timers yet.
    pub fn new(config: HeartbeatConfig) -> Self {
        HeartbeatTimers {
            config,
            deadlines: BTreeMap::new(),
        }
    }

    /// Records a heartbeat of `node_id` at `now` and returns the TTL the client must
    /// heartbeat within. `seed` draws the stagger (the servers pass the clock, the
    /// simulator its seeded generator).
    pub fn heartbeat(&mut self, node_id: &str, now: i64, seed: u64) -> Duration {
        let base = scaled_ttl(
            self.config.min_ttl,
            self.config.max_per_second,
            self.deadlines.len(),
        );
        let span = u64::try_from(base.as_nanos()).unwrap_or(u64::MAX).max(1);
        let ttl = base + Duration::from_nanos(SchedRng::new(seed).below(span));
        let deadline = now
            .saturating_add(nanos(ttl))
            .saturating_add(nanos(self.config.grace));
        match self.deadlines.get_mut(node_id) {
            Some(d) => *d = deadline,
            None => {
                self.deadlines.insert(node_id.to_owned(), deadline);
            }
        }
        ttl
    }

    /// A new leader (or a restored state) gives every ready node a full TTL, as
    /// Nomad's `initializeHeartbeatTimers` does: nobody is marked down for heartbeats
    /// the last leader received.
    pub fn grant_ready(&mut self, s: &StateStore, now: i64, seed: u64) {
        let ready: Vec<&str> = s
            .nodes()
            .filter(|n| n.status == node_status::READY)
            .map(|n| n.id.as_str())
            .collect();
        for (i, id) in ready.into_iter().enumerate() {
            self.heartbeat(
                id,
                now,
                seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
        }
    }

    /// Stops timing `node_id` (the node was purged, or the shell gave up leadership).
    pub fn forget(&mut self, node_id: &str) {
        self.deadlines.remove(node_id);
    }

    /// Nodes being timed.
    pub fn len(&self) -> usize {
        self.deadlines.len()
    }

    /// True when no node is timed.
    pub fn is_empty(&self) -> bool {
        self.deadlines.is_empty()
    }

    /// The timers that ran out by `now`, removed, with the status each node gets:
    /// only nodes still `ready` in `s` are marked (a drained-down or already
    /// disconnected node is left alone), in node ID order.
    pub fn expire(&mut self, s: &StateStore, now: i64) -> Vec<(String, &'static str)> {
        let gone: Vec<String> = self
            .deadlines
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::new();
        for id in gone {
            self.deadlines.remove(&id);
            let ready = s.node(&id).is_some_and(|n| n.status == node_status::READY);
            if ready {
                let status = missed_heartbeat_status(s, &id);
                out.push((id, status));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_scale_with_the_cluster_and_are_staggered() {
        let min = Duration::from_secs(10);
        assert_eq!(scaled_ttl(min, 50.0, 100), min);
        assert_eq!(scaled_ttl(min, 50.0, 1000), Duration::from_secs(20));
        assert_eq!(scaled_ttl(min, 0.0, 1000), min);
        let config = HeartbeatConfig::default();
        let mut timers = HeartbeatTimers::new(config);
        let mut ttls = std::collections::BTreeSet::new();
        for i in 0..20 {
            let ttl = timers.heartbeat(&format!("n{i}"), 0, i);
            assert!(ttl >= config.min_ttl && ttl < 2 * config.min_ttl, "{ttl:?}");
            ttls.insert(ttl);
        }
        assert!(ttls.len() > 1, "staggered: {ttls:?}");
    }

    #[test]
    fn a_timer_runs_out_after_its_ttl_and_grace_and_only_then() {
        let mut s = StateStore::new();
        let node = crate::model::Node {
            id: "n1".into(),
            status: node_status::READY.into(),
            ..crate::model::Node::default()
        };
        let register =
            crate::state::Command::NodeRegister(crate::state::NodeRegister { node, now: 0 });
        assert!(s.apply(1, register).is_ok());
        let mut timers = HeartbeatTimers::new(HeartbeatConfig::default());
        let ttl = timers.heartbeat("n1", 0, 7);
        let deadline = nanos(ttl) + nanos(HeartbeatConfig::default().grace);
        assert!(timers.expire(&s, deadline - 1).is_empty());
        assert_eq!(timers.len(), 1);
        let expired = timers.expire(&s, deadline);
        assert_eq!(expired, vec![("n1".to_string(), node_status::DOWN)]);
        assert!(timers.is_empty(), "an expired timer is removed");
        // A node nobody times is never marked.
        assert!(timers.expire(&s, i64::MAX).is_empty());
    }
}
