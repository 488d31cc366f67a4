//! Allocation health for deployments (Nomad's client-side health watcher with
//! `health_check = "task_states"`): an allocation is healthy once every task that should
//! keep running has been running, without a restart, for `min_healthy_time`; it is
//! unhealthy when one fails or `healthy_deadline` passes first. Decided once per
//! deployment; the servers' deployment watcher acts on it.
//!
//! `health_check = "checks"` behaves as task states until service checks exist (Nomad
//! does the same for groups without checks); `manual` leaves health to the operator.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use orch_core::lifecycle::{LifecyclePlan, TaskRole};
use orch_core::model::{Allocation, TaskGroup};

use super::state::LocalTaskState;

/// Tracks one allocation's health within its deployment.
#[derive(Debug, Clone)]
pub struct HealthTracker {
    /// The deployment the verdict is for.
    pub deployment_id: String,
    min_healthy: Duration,
    deadline: Instant,
    running_since: Option<Instant>,
    restarts_seen: u64,
    tracked: Vec<String>,
    /// `health_check = "checks"`: service checks must pass too.
    pub use_checks: bool,
}

impl HealthTracker {
    /// A tracker when the allocation belongs to a deployment whose health the client
    /// decides; `None` otherwise.
    pub fn new(
        alloc: &Allocation,
        group: &TaskGroup,
        plan: &LifecyclePlan,
        now: Instant,
    ) -> Option<Self> {
        if alloc.deployment_id.is_empty() {
            return None;
        }
        let update = group.update.as_ref()?;
        if update.health_check == "manual" {
            return None;
        }
        let nanos = |n: i64| Duration::from_nanos(n.max(0) as u64);
        // Tasks that must be up: main tasks and sidecars (ephemeral hooks come and go).
        let tracked = group
            .tasks
            .iter()
            .filter(|t| match plan.role(&t.name) {
                Some(TaskRole::Main) => true,
                Some(r) => r.is_sidecar(),
                None => false,
            })
            .map(|t| t.name.clone())
            .collect();
        Some(HealthTracker {
            deployment_id: alloc.deployment_id.clone(),
            min_healthy: nanos(update.min_healthy_time),
            deadline: now + nanos(update.healthy_deadline).max(Duration::from_secs(1)),
            running_since: None,
            restarts_seen: 0,
            tracked,
            use_checks: update.health_check == "checks",
        })
    }

    /// Looks at the tasks (and, with `checks = Some`, whether every service check
    /// passes) now; `Some(verdict)` once decided.
    pub fn observe(
        &mut self,
        tasks: &BTreeMap<String, LocalTaskState>,
        checks: Option<bool>,
        now: Instant,
    ) -> Option<bool> {
        if tasks.values().any(|t| t.failed) {
            return Some(false);
        }
        let restarts: u64 = tasks.values().map(|t| t.state.restarts).sum();
        if restarts != self.restarts_seen {
            self.restarts_seen = restarts;
            self.running_since = None;
        }
        let checks_ok = !self.use_checks || checks.unwrap_or(true);
        let all_running = !self.tracked.is_empty()
            && checks_ok
            && self
                .tracked
                .iter()
                .all(|name| tasks.get(name).is_some_and(|t| t.state.state == "running"));
        if all_running {
            let since = *self.running_since.get_or_insert(now);
            if now.duration_since(since) >= self.min_healthy {
                return Some(true);
            }
        } else {
            self.running_since = None;
        }
        if now >= self.deadline {
            return Some(false);
        }
        None
    }

    /// The tracker an allocation needs once an update reached it: the current one while
    /// its deployment is unchanged; a new one, with the clock started afresh, when an
    /// in-place update moved it into another deployment (Nomad restarts its health
    /// watch then), whatever the old tracker had or had not decided; none when the
    /// allocation's current deployment already has its verdict (`decided_for`).
    pub fn after_update(
        current: Option<HealthTracker>,
        alloc: &Allocation,
        group: &TaskGroup,
        plan: &LifecyclePlan,
        decided_for: Option<&str>,
        now: Instant,
    ) -> Option<HealthTracker> {
        if let Some(tracker) = &current
            && tracker.deployment_id == alloc.deployment_id
        {
            return current;
        }
        if decided_for == Some(alloc.deployment_id.as_str()) {
            return None;
        }
        HealthTracker::new(alloc, group, plan, now)
    }

    /// When to look again without any task change.
    pub fn next_check(&self) -> Instant {
        match self.running_since {
            Some(since) => (since + self.min_healthy).min(self.deadline),
            None => self.deadline,
        }
    }
}

#[cfg(test)]
mod tests;
