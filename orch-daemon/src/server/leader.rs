//! The leader's duties: feed evaluations from the state into the broker, run scheduler
//! workers on the state, apply their plans through one plan applier, and track blocked
//! evaluations until capacity appears.
//!
//! ```text
//! state index changes ─ feeder: new pending evals → broker; blocked evals → tracker;
//!                        node/alloc changes → unblock by class → woken, let out one
//!                        at a time in queue order (priority, fair share, age)
//! workers (N) ─ dequeue ─ orch-core process_eval (under a read lock; it is pure)
//!             ─ plan → plan applier (one at a time: verify_plan on the latest state,
//!               propose ApplyPlanResults) ─ retry the rest on a partial commit
//!             ─ propose eval update (+ blocked eval) ─ ack
//! ```
//! The same loop runs synchronously in `orch_core::sim`; this is its async, replicated
//! twin. Only one leader runs it: a follower's loop idles until it leads.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use orch_core::broker::{BlockedEvals, BrokerConfig, EvalBroker};
use orch_core::model::{Evaluation, eval_status};
use orch_core::scheduler::plan::{Plan, PlanResult};
use orch_core::scheduler::verify::verify_plan_owned;
use orch_core::scheduler::{SchedulerConfig, process_eval};
use orch_core::state::{Command, EvalUpsert};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{ReplicateError, Replicator, StateHandle};
use crate::clock::{new_uuid, now_nanos};

use orch_core::scheduler::MAX_PLAN_ATTEMPTS;

/// Nomad's `RateScaledInterval`: the heartbeat interval that keeps `nodes` clients at
/// or below `per_second` heartbeats per second, never below `min`.
pub fn scaled_ttl(min: Duration, per_second: f64, nodes: usize) -> Duration {
    if per_second <= 0.0 || !per_second.is_finite() {
        return min;
    }
    let scaled = Duration::try_from_secs_f64(nodes as f64 / per_second).unwrap_or(min);
    scaled.max(min)
}

/// Settings of the leader's machinery.
#[derive(Debug, Clone)]
pub struct LeaderConfig {
    /// Scheduler workers (default: one per core).
    pub workers: usize,
    /// orch's own scheduler settings (`exhaustive`, `fill_order`, `anti_affinity`); the
    /// algorithm, preemption and memory oversubscription come from the replicated
    /// configuration (`StateStore::scheduler_config`) for each evaluation.
    pub scheduler: SchedulerConfig,
    /// How often clients must heartbeat (Nomad's `min_heartbeat_ttl`; default 4 s, Nomad's 10 s).
    pub heartbeat_ttl: Duration,
    /// Extra time before a silent client is marked down (`heartbeat_grace`; default 3 s, Nomad's 10 s).
    pub heartbeat_grace: Duration,
    /// Heartbeats the leader accepts per second at most (`max_heartbeats_per_second`,
    /// default 50): with many clients the TTL grows so the leader is not flooded.
    pub max_heartbeats_per_second: f64,
    /// Core GC thresholds and the failed-evaluation follow-up delay.
    pub gc: super::gc::GcConfig,
    /// The autoscaler's sources (the agent's `autoscaler` block).
    pub autoscaler: super::autoscaler::AutoscalerConfig,
    /// Whether plans enter the log normalized (`Command::ApplyPlanNormalized`, a few
    /// dozen bytes per placement) rather than whole (`ApplyPlanResults`); on by
    /// default, off only to measure the difference (`c1m-cluster --full-plans`).
    pub normalize_plans: bool,
}

impl Default for LeaderConfig {
    fn default() -> Self {
        LeaderConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            scheduler: SchedulerConfig::default(),
            // Nomad uses 10 s + 10 s; orch detects a dead client within 2 × 4 s + 3 s (TTL
            // with its stagger, plus grace) so its work runs elsewhere within 20 s.
            heartbeat_ttl: Duration::from_secs(4),
            heartbeat_grace: Duration::from_secs(3),
            max_heartbeats_per_second: 50.0,
            gc: super::gc::GcConfig::default(),
            autoscaler: super::autoscaler::AutoscalerConfig::default(),
            normalize_plans: true,
        }
    }
}

struct PlanRequest {
    plan: Plan,
    reply: oneshot::Sender<Result<PlanResult, ReplicateError>>,
}

/// Shared between the feeder, the workers and the API (broker stats, unplaced counts).
pub struct Leader {
    pub(super) state: StateHandle,
    pub(super) replicator: Arc<dyn Replicator>,
    pub(super) config: LeaderConfig,
    /// The evaluation broker (enabled while leading).
    pub broker: Mutex<EvalBroker>,
    /// Evaluations waiting for capacity.
    pub blocked: Mutex<BlockedEvals>,
    /// The woken evaluation let out last (ranked release, `orch_core::broker::queue`):
    /// the next one waits until it is no longer pending.
    released: std::sync::Mutex<Option<String>>,
    plans: mpsc::Sender<PlanRequest>,
    plan_rx: Mutex<Option<mpsc::Receiver<PlanRequest>>>,
    wake: tokio::sync::Notify,
    /// When each client node must have heartbeated again.
    heartbeats: std::sync::Mutex<BTreeMap<String, tokio::time::Instant>>,
    /// The horizontal autoscaler (acts only while leading).
    pub autoscaler: Arc<super::autoscaler::Autoscaler>,
    /// The scheduler workers, sized at run time (`/v1/agent/schedulers/config`).
    pub workers: super::workers::WorkerPool,
}

/// What one feeder pass found to hand to the broker and the blocked tracker.
struct FeedPass {
    pending: Vec<Evaluation>,
    blocked: Vec<Evaluation>,
    changed_classes: BTreeSet<String>,
    quota_freed: BTreeSet<String>,
    /// Evaluations of stopped jobs whose ordered groups stop their next index.
    ordered_stops: Vec<Evaluation>,
    index: u64,
}

impl Leader {
    /// Creates the leader machinery (not started).
    pub fn new(
        state: StateHandle,
        replicator: Arc<dyn Replicator>,
        config: LeaderConfig,
    ) -> Arc<Self> {
        let (plans, plan_rx) = mpsc::channel(64);
        let mut broker = EvalBroker::new(BrokerConfig::default());
        broker.set_enabled(true);
        let autoscaler = Arc::new(super::autoscaler::Autoscaler::new(
            state.clone(),
            Arc::clone(&replicator),
            config.autoscaler.clone(),
        ));
        let workers = super::workers::WorkerPool::new(config.workers.max(1));
        Arc::new(Leader {
            state,
            replicator,
            workers,
            config,
            autoscaler,
            broker: Mutex::new(broker),
            blocked: Mutex::new(BlockedEvals::new()),
            released: std::sync::Mutex::new(None),
            plans,
            plan_rx: Mutex::new(Some(plan_rx)),
            wake: tokio::sync::Notify::new(),
            heartbeats: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// Starts the feeder, the plan applier and the workers as tokio tasks.
    pub async fn start(self: &Arc<Self>) {
        if let Some(rx) = self.plan_rx.lock().await.take() {
            tokio::spawn(Arc::clone(self).plan_applier(rx));
        }
        tokio::spawn(Arc::clone(self).feeder());
        tokio::spawn(Arc::clone(self).heartbeat_reaper());
        tokio::spawn(Arc::clone(self).housekeeping());
        tokio::spawn(Arc::clone(self).deployment_watcher());
        tokio::spawn(Arc::clone(self).release_watcher());
        tokio::spawn(Arc::clone(self).drainer());
        tokio::spawn(super::periodic::run(
            self.state.clone(),
            Arc::clone(&self.replicator),
        ));
        tokio::spawn(Arc::clone(&self.autoscaler).run());
        tokio::spawn(super::autoscaler::cluster::run(
            self.state.clone(),
            Arc::clone(&self.replicator),
            self.config.autoscaler.cluster.clone(),
        ));
        self.spawn_workers(self.workers.config().0);
    }

    /// Starts `n` more scheduler workers.
    pub fn spawn_workers(self: &Arc<Self>, n: usize) {
        for _ in 0..n {
            let id = self.workers.join(crate::clock::rfc3339_nanos(now_nanos()));
            tokio::spawn(Arc::clone(self).worker(id));
        }
    }

    /// Watches the state and hands new evaluations to the broker or the blocked tracker,
    /// and releases blocked evaluations when nodes change or allocations end.
    async fn feeder(self: Arc<Self>) {
        let mut rx = self.state.subscribe();
        // Live evaluations already handed to the broker or the blocked tracker.
        let mut known: BTreeSet<String> = BTreeSet::new();
        let mut node_seen: BTreeMap<String, u64> = BTreeMap::new();
        let mut last_index = 0u64;
        let mut was_leader = false;
        // The last operator restore the queues were built from (`restored_at`).
        let mut restore_seen = 0u64;
        loop {
            if !self.replicator.is_leader() {
                if was_leader {
                    // Lost leadership: the new leader rebuilds its queues from the state,
                    // so drop ours (Nomad's revokeLeadership).
                    self.broker.lock().await.set_enabled(false);
                    self.blocked.lock().await.flush();
                    known.clear();
                    node_seen.clear();
                    was_leader = false;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let restored = self.state.read().restored_at();
            if !was_leader {
                // Gained leadership: rebuild the queues from the whole state.
                self.broker.lock().await.set_enabled(true);
                last_index = 0;
                was_leader = true;
                restore_seen = restored;
            } else if restored != restore_seen {
                // An operator restore replaced the state (its objects keep their older
                // indexes, which `last_index` may already be past): rebuild the queues
                // from it, as on a leadership change.
                restore_seen = restored;
                self.reset_queues().await;
                known.clear();
                node_seen.clear();
                last_index = 0;
            }
            let pass = self.collect_changes(&mut known, &mut node_seen, last_index);
            last_index = pass.index;
            self.feed(pass, &mut known).await;
            self.wake.notify_waiters();
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// One pass over what changed since `last_index`: evaluations to queue or block
    /// (not yet `known`; finished ones are forgotten), node classes whose nodes changed
    /// or freed capacity, and namespaces whose quota freed room.
    fn collect_changes(
        &self,
        known: &mut BTreeSet<String>,
        node_seen: &mut BTreeMap<String, u64>,
        last_index: u64,
    ) -> FeedPass {
        let s = self.state.read();
        let mut pending = Vec::new();
        let mut blocked = Vec::new();
        for e in s.evals_modified_after(last_index) {
            match e.status.as_str() {
                eval_status::PENDING | eval_status::BLOCKED if known.contains(&e.id) => {}
                eval_status::PENDING => pending.push(e.clone()),
                eval_status::BLOCKED => blocked.push(e.clone()),
                // A finished evaluation leaves the queues for good: forgetting it
                // keeps `known` as small as the live evaluations.
                _ => {
                    known.remove(&e.id);
                }
            }
        }
        let mut classes = BTreeSet::new();
        // Every node write moves the node table's index: when it has not moved since
        // the last pass no node changed, and the pass skips 10,000 look-ups (most
        // passes follow plan commits and evaluation updates, which write no node).
        if last_index == 0 || s.index(orch_core::state::table::NODES) > last_index {
            for n in s.nodes() {
                if node_seen.get(&n.id) != Some(&n.modify_index) {
                    node_seen.insert(n.id.clone(), n.modify_index);
                    classes.insert(n.computed_class.clone());
                }
            }
        }
        classes.extend(csi_changed_classes(&s, last_index));
        // A scheduler configuration change (preemption turned on for a job type, a new
        // algorithm) may let waiting work place: release it all, as a capacity change.
        if s.index(orch_core::state::SCHEDULER_CONFIG_TABLE) > last_index && last_index > 0 {
            classes.extend(s.nodes().map(|n| n.computed_class.clone()));
        }
        // Allocations that ended since the last pass free capacity on their nodes.
        for a in s.allocs_modified_after(last_index).filter(|a| a.terminal()) {
            if let Some(n) = s.node(&a.node_id) {
                classes.insert(n.computed_class.clone());
            }
        }
        let quota_freed = quota_unblock::freed_namespaces(&s, last_index);
        let ordered_stops = workflows::ordered_stop_evals(&s, last_index, now_nanos());
        FeedPass {
            pending,
            blocked,
            changed_classes: classes,
            quota_freed,
            ordered_stops,
            index: s.latest_index(),
        }
    }

    /// Hands a pass's evaluations to the broker and the blocked tracker, and makes the
    /// blocked evaluations it releases pending again. What capacity released is woken
    /// and let out one at a time in queue order ([`Leader::release_ranked`]).
    async fn feed(&self, pass: FeedPass, known: &mut BTreeSet<String>) {
        let now = now_nanos();
        {
            let mut broker = self.broker.lock().await;
            for e in pass.pending {
                known.insert(e.id.clone());
                let _ = broker.enqueue(e, now);
            }
        }
        let mut released = Vec::new();
        let duplicates = {
            let mut tracker = self.blocked.lock().await;
            let mut woken = Vec::new();
            let mut duplicates = Vec::new();
            for e in pass.blocked {
                known.insert(e.id.clone());
                let out = tracker.block(e);
                woken.extend(out.unblocked);
                duplicates.extend(out.duplicate);
            }
            for class in pass.changed_classes {
                woken.extend(tracker.unblock(&class, pass.index));
            }
            if !pass.quota_freed.is_empty() {
                woken.extend(tracker.unblock_namespaces(&pass.quota_freed, pass.index));
            }
            duplicates.extend(tracker.wake(woken));
            let s = self.state.read();
            released.extend(workflows::release_dependents(&mut tracker, &s));
            released.extend(self.release_ranked(&mut tracker, &s));
            duplicates
        };
        if !duplicates.is_empty() {
            let _ = self
                .replicator
                .propose(Command::EvalUpsert(EvalUpsert { evals: duplicates }))
                .await;
        }
        released.extend(pass.ordered_stops);
        if !released.is_empty() {
            let evals: Vec<Evaluation> = released
                .into_iter()
                .map(|mut e| {
                    e.status = eval_status::PENDING.into();
                    e.modify_time = now;
                    known.remove(&e.id); // Re-fed as pending on the next pass.
                    e
                })
                .collect();
            let _ = self
                .replicator
                .propose(Command::EvalUpsert(EvalUpsert { evals }))
                .await;
        }
    }

    /// Empties the broker and the blocked tracker, for the feeder to refill them from
    /// the whole (restored) state.
    async fn reset_queues(&self) {
        let mut broker = self.broker.lock().await;
        broker.set_enabled(false);
        broker.set_enabled(true);
        drop(broker);
        self.blocked.lock().await.flush();
    }

    /// Records a client heartbeat; returns the TTL the client must heartbeat within.
    ///
    /// As Nomad does, the TTL is `max(min_heartbeat_ttl, nodes / max_heartbeats_per_second)`
    /// plus a random stagger of up to the same again, so heartbeats from many clients
    /// spread out instead of arriving in waves; the node is marked down only after the
    /// TTL plus `heartbeat_grace`.
    pub fn heartbeat(&self, node_id: &str) -> Duration {
        let mut timers = self.heartbeats.lock().unwrap_or_else(|e| e.into_inner());
        let base = scaled_ttl(
            self.config.heartbeat_ttl,
            self.config.max_heartbeats_per_second,
            timers.len(),
        );
        let mut rng = orch_core::scheduler::rng::SchedRng::new(now_nanos() as u64);
        let stagger_ns = rng.below(u64::try_from(base.as_nanos()).unwrap_or(u64::MAX).max(1));
        let ttl = base + Duration::from_nanos(stagger_ns);
        let deadline = tokio::time::Instant::now() + ttl + self.config.heartbeat_grace;
        timers.insert(node_id.to_string(), deadline);
        ttl
    }

    /// Marks nodes down when their heartbeat deadline passes, creating evaluations so
    /// their allocations are replaced (Nomad's heartbeat timers). A new leader first gives
    /// every ready node a full TTL, as Nomad does on leadership change.
    async fn heartbeat_reaper(self: Arc<Self>) {
        let mut was_leader = false;
        let mut restore_seen = self.state.read().restored_at();
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let leading = self.replicator.is_leader();
            // After an operator restore, the restored nodes get a full TTL too.
            let restored = self.state.read().restored_at();
            if leading && (!was_leader || restored != restore_seen) {
                restore_seen = restored;
                let ready: Vec<String> = {
                    let s = self.state.read();
                    s.nodes()
                        .filter(|n| n.status == orch_core::model::node_status::READY)
                        .map(|n| n.id.clone())
                        .collect()
                };
                for id in ready {
                    self.heartbeat(&id);
                }
            }
            was_leader = leading;
            if !leading {
                continue;
            }
            let now = tokio::time::Instant::now();
            let expired: Vec<String> = {
                let mut hb = self.heartbeats.lock().unwrap_or_else(|e| e.into_inner());
                let gone: Vec<String> = hb
                    .iter()
                    .filter(|(_, d)| **d <= now)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in &gone {
                    hb.remove(id);
                }
                gone
            };
            for node_id in expired {
                let ready = self
                    .state
                    .read()
                    .node(&node_id)
                    .is_some_and(|n| n.status == orch_core::model::node_status::READY);
                if !ready {
                    continue;
                }
                let status = orch_core::scheduler::triggers::missed_heartbeat_status(
                    &self.state.read(),
                    &node_id,
                );
                let _ = self.set_node_status(&node_id, status).await;
            }
        }
    }

    /// Changes a node's status and creates the evaluations that react to it.
    pub async fn set_node_status(&self, node_id: &str, status: &str) -> Result<(), ReplicateError> {
        self.replicator
            .propose(Command::NodeStatusUpdate(
                orch_core::state::NodeStatusUpdate {
                    node_id: node_id.to_string(),
                    status: status.to_string(),
                    now: now_nanos(),
                },
            ))
            .await?;
        self.node_changed(node_id).await
    }

    /// Creates the evaluations a node change calls for.
    pub async fn node_changed(&self, node_id: &str) -> Result<(), ReplicateError> {
        let evals = {
            let s = self.state.read();
            let mut ids = new_uuid;
            orch_core::scheduler::triggers::node_update_evals(&s, node_id, now_nanos(), &mut ids)
        };
        if !evals.is_empty() {
            self.replicator
                .propose(Command::EvalUpsert(EvalUpsert { evals }))
                .await?;
        }
        Ok(())
    }

    /// One scheduler worker, `id` in the pool; it stops when the pool shrinks past it.
    async fn worker(self: Arc<Self>, id: String) {
        use super::workers::workload;
        // The last evaluation's update, committing while the next one is scheduled.
        let mut finishing: Option<tokio::task::JoinHandle<()>> = None;
        while let Some(types) = self.workers.round(&id) {
            let schedulers: Vec<&str> = types.iter().map(String::as_str).collect();
            // `PauseEvalBroker`: evaluations stay pending (in the broker and the state)
            // until an operator resumes it; read per round, so both take effect at once.
            let paused = self.state.read().scheduler_config().pause_eval_broker;
            let next = if paused {
                self.workers.set_workload(&id, workload::PAUSED);
                None
            } else {
                self.workers.set_workload(&id, workload::WAITING_TO_DEQUEUE);
                let mut broker = self.broker.lock().await;
                broker.tick(now_nanos());
                broker.dequeue(&schedulers, now_nanos())
            };
            let Some((eval, token)) = next else {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
                continue;
            };
            // Deleted while the broker was paused (`eval delete`): nothing to schedule.
            if self.state.read().eval(&eval.id).is_none() {
                let _ = self.broker.lock().await.ack(&eval.id, &token);
                continue;
            }
            self.workers.set_workload(&id, workload::SCHEDULING);
            let scheduled = self.process(&eval).await;
            // One update in flight per worker: its Raft round trip overlaps the next
            // evaluation's scheduling instead of adding to every evaluation's time (the
            // broker holds a job's next evaluation until this one is acked).
            if let Some(previous) = finishing.take() {
                let _ = previous.await;
            }
            finishing = Some(tokio::spawn(
                Arc::clone(&self).finish(eval, token, scheduled),
            ));
        }
        if let Some(previous) = finishing {
            let _ = previous.await;
        }
    }

    /// Schedules `eval`, committing its plans (retried on a partial commit); the
    /// evaluation's update to propose (itself, and its blocked follow-up if any).
    async fn process(&self, eval: &Evaluation) -> Result<Vec<Evaluation>, ReplicateError> {
        let mut last = None;
        for attempt in 0..MAX_PLAN_ATTEMPTS {
            let seed = now_nanos() as u64 ^ (attempt as u64).wrapping_mul(0x9E37_79B9);
            let mut outcome = {
                let s = self.state.read();
                let mut ids = new_uuid;
                // The replicated configuration as it is now (with what the job's node
                // pool overrides): an operator's change applies from the next
                // evaluation on.
                let config = self
                    .config
                    .scheduler
                    .with_cluster(&s.scheduler_config_for(eval));
                let started = std::time::Instant::now();
                let outcome = process_eval(&s, eval, &config, seed, now_nanos(), &mut ids);
                crate::telemetry::measure(
                    "nomad.nomad.worker.invoke_scheduler",
                    vec![("type", eval.eval_type.clone())],
                    started.elapsed(),
                );
                outcome
            };
            if outcome.plan.is_no_op() {
                last = Some(outcome);
                break;
            }
            let (reply, rx) = oneshot::channel();
            self.plans
                .send(PlanRequest {
                    // Moved: the worker reads only the evaluation and the blocked
                    // follow-up of the outcome from here on.
                    plan: std::mem::take(&mut outcome.plan),
                    reply,
                })
                .await
                .map_err(|_| ReplicateError::Failed("plan applier stopped".into()))?;
            let result = rx
                .await
                .map_err(|_| ReplicateError::Failed("plan applier stopped".into()))??;
            let done = result.fully_committed();
            last = Some(outcome);
            if done {
                break;
            }
        }
        let Some(outcome) = last else {
            return Ok(Vec::new());
        };
        let mut evals = vec![outcome.eval];
        evals.extend(outcome.blocked);
        Ok(evals)
    }

    /// The single plan applier: plans are verified and committed one at a time, so each
    /// sees the effect of the last.
    async fn plan_applier(self: Arc<Self>, mut rx: mpsc::Receiver<PlanRequest>) {
        while let Some(req) = rx.recv().await {
            let started = std::time::Instant::now();
            let result = {
                let s = self.state.read();
                verify_plan_owned(&s, req.plan)
            };
            crate::telemetry::measure("nomad.nomad.plan.evaluate", Vec::new(), started.elapsed());
            // The worker needs only what the result says of the plan (committed whole
            // or not, the refresh index), not the allocations: they move into the
            // command instead of being copied.
            let answer = PlanResult {
                accepted: Plan::default(),
                rejected_nodes: result.rejected_nodes.clone(),
                refresh_index: result.refresh_index,
            };
            let mut cmd = result.into_command(now_nanos());
            if self.config.normalize_plans {
                cmd = cmd.normalized();
            }
            let committed = self.replicator.propose(cmd).await.map(|_| answer);
            crate::telemetry::measure("nomad.nomad.plan.apply", Vec::new(), started.elapsed());
            let _ = req.reply.send(committed);
        }
    }
}

mod finish;
mod quota_unblock;
mod ranked_release;
mod workflows;
/// When CSI plugins or volumes changed after `last_index`, the classes to release:
/// evaluations blocked on CSI escape class caching, so releasing the node classes
/// there are frees them (a plugin came back, a volume was registered).
fn csi_changed_classes(s: &orch_core::state::StateStore, last_index: u64) -> BTreeSet<String> {
    use orch_core::state::csi_table;
    let changed =
        s.index(csi_table::PLUGINS) > last_index || s.index(csi_table::VOLUMES) > last_index;
    if !changed {
        return BTreeSet::new();
    }
    s.nodes().map(|n| n.computed_class.clone()).collect()
}

#[cfg(test)]
mod tests;
