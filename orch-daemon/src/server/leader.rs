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
//! The decisions are `orch_core::leader`'s state machines ([`Feeder`], [`EvalRun`],
//! [`HeartbeatTimers`]), which `orch_core::sim` drives synchronously in virtual time;
//! this is their async, replicated shell: tasks, locks, Raft and the wall clock. Only
//! one leader runs it: a follower's loop idles until it leads.

use std::sync::Arc;
use std::time::Duration;

use orch_core::broker::{BlockedEvals, BrokerConfig, EvalBroker};
use orch_core::leader::{
    EvalRun, FeedOutcome, Feeder, HeartbeatConfig, HeartbeatTimers, PlanVerdict,
};
use orch_core::model::Evaluation;
use orch_core::scheduler::SchedulerConfig;
use orch_core::scheduler::plan::Plan;
use orch_core::scheduler::verify::verify_plan_owned;
use orch_core::state::{Command, EvalUpsert};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{ReplicateError, Replicator, StateHandle};
use crate::clock::{new_uuid, now_nanos};

pub use orch_core::leader::scaled_ttl;

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
    reply: oneshot::Sender<Result<PlanVerdict, ReplicateError>>,
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
    plans: mpsc::Sender<PlanRequest>,
    plan_rx: Mutex<Option<mpsc::Receiver<PlanRequest>>>,
    wake: tokio::sync::Notify,
    /// When each client node must have heartbeated again, in nanoseconds of
    /// `clock_base` (monotonic: a wall-clock step neither expires nor extends them).
    heartbeats: std::sync::Mutex<HeartbeatTimers>,
    clock_base: tokio::time::Instant,
    /// The horizontal autoscaler (acts only while leading).
    pub autoscaler: Arc<super::autoscaler::Autoscaler>,
    /// The scheduler workers, sized at run time (`/v1/agent/schedulers/config`).
    pub workers: super::workers::WorkerPool,
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
        let heartbeat_config = HeartbeatConfig {
            min_ttl: config.heartbeat_ttl,
            grace: config.heartbeat_grace,
            max_per_second: config.max_heartbeats_per_second,
        };
        Arc::new(Leader {
            state,
            replicator,
            workers,
            config,
            autoscaler,
            broker: Mutex::new(broker),
            blocked: Mutex::new(BlockedEvals::new()),
            plans,
            plan_rx: Mutex::new(Some(plan_rx)),
            wake: tokio::sync::Notify::new(),
            heartbeats: std::sync::Mutex::new(HeartbeatTimers::new(heartbeat_config)),
            clock_base: tokio::time::Instant::now(),
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

    /// Watches the state and runs the [`Feeder`] on each change (at least every second):
    /// new evaluations to the broker or the blocked tracker, releases replicated.
    async fn feeder(self: Arc<Self>) {
        let mut rx = self.state.subscribe();
        let mut feeder = Feeder::new();
        let mut was_leader = false;
        loop {
            if !self.replicator.is_leader() {
                if was_leader {
                    // Lost leadership: the new leader rebuilds its queues from the state,
                    // so drop ours (Nomad's revokeLeadership).
                    self.broker.lock().await.set_enabled(false);
                    self.blocked.lock().await.flush();
                    feeder.lost_leadership();
                    was_leader = false;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            if !was_leader {
                // Gained leadership: the feeder's first pass reads the whole state.
                self.broker.lock().await.set_enabled(true);
                was_leader = true;
            }
            let out = self.feed_pass(&mut feeder).await;
            for cmd in out.into_commands() {
                let _ = self.replicator.propose(cmd).await;
            }
            self.wake.notify_waiters();
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// One feeder pass: collected under a state read, applied with the broker and the
    /// tracker locked (in that order; nothing else holds both).
    async fn feed_pass(&self, feeder: &mut Feeder) -> FeedOutcome {
        let now = now_nanos();
        let pass = {
            let s = self.state.read();
            let mut ids = new_uuid;
            feeder.collect(&s, now, &mut ids)
        };
        let mut broker = self.broker.lock().await;
        let mut tracker = self.blocked.lock().await;
        let s = self.state.read();
        feeder.apply(pass, &mut broker, &mut tracker, &s, now)
    }

    /// Records a client heartbeat; returns the TTL the client must heartbeat within.
    ///
    /// As Nomad does, the TTL is `max(min_heartbeat_ttl, nodes / max_heartbeats_per_second)`
    /// plus a random stagger of up to the same again, so heartbeats from many clients
    /// spread out instead of arriving in waves; the node is marked down only after the
    /// TTL plus `heartbeat_grace`.
    pub fn heartbeat(&self, node_id: &str) -> Duration {
        let now = self.monotonic_nanos();
        let mut timers = self.heartbeats.lock().unwrap_or_else(|e| e.into_inner());
        timers.heartbeat(node_id, now, now_nanos() as u64)
    }

    /// Nanoseconds since this leader's machinery was created, on tokio's clock.
    fn monotonic_nanos(&self) -> i64 {
        i64::try_from(self.clock_base.elapsed().as_nanos()).unwrap_or(i64::MAX)
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
            let now = self.monotonic_nanos();
            if leading && (!was_leader || restored != restore_seen) {
                restore_seen = restored;
                let s = self.state.read();
                let mut timers = self.heartbeats.lock().unwrap_or_else(|e| e.into_inner());
                timers.grant_ready(&s, now, now_nanos() as u64);
            }
            was_leader = leading;
            if !leading {
                continue;
            }
            let expired = {
                let s = self.state.read();
                let mut timers = self.heartbeats.lock().unwrap_or_else(|e| e.into_inner());
                timers.expire(&s, now)
            };
            for (node_id, status) in expired {
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

    /// Runs one evaluation's plan loop ([`EvalRun`]) against the plan applier; the
    /// command recording how it ended, for [`Leader::finish`] to propose.
    async fn process(&self, eval: &Evaluation) -> Result<Option<Command>, ReplicateError> {
        let mut run = EvalRun::new(eval);
        while !run.is_over() {
            let seed =
                now_nanos() as u64 ^ (run.scheduled_times() as u64).wrapping_mul(0x9E37_79B9);
            let plan = {
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
                let plan = run.schedule(&s, &config, seed, now_nanos(), &mut ids);
                crate::telemetry::measure(
                    "nomad.nomad.worker.invoke_scheduler",
                    vec![("type", eval.eval_type.clone())],
                    started.elapsed(),
                );
                plan
            };
            let Some(plan) = plan else { break };
            let (reply, rx) = oneshot::channel();
            self.plans
                .send(PlanRequest { plan, reply })
                .await
                .map_err(|_| ReplicateError::Failed("plan applier stopped".into()))?;
            let verdict = rx
                .await
                .map_err(|_| ReplicateError::Failed("plan applier stopped".into()))??;
            run.plan_applied(verdict);
        }
        Ok(run.finish(new_uuid, now_nanos()))
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
            // The worker needs only the verdict (committed whole, progress), not the
            // allocations: they move into the command instead of being copied.
            let answer = PlanVerdict::of(&result);
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
#[cfg(test)]
mod tests;
