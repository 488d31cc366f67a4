//! The simulation harness: a whole cluster in one process, driven in virtual time.
//!
//! A [`Cluster`] owns the state store, the evaluation broker, the blocked-evaluation
//! tracker and the scheduler, and drives the servers' own leader state machines
//! ([`crate::leader`]): a command changes state, the [`Feeder`] moves new evaluations
//! into the broker and the blocked tracker, [`EvalRun`] schedules each on the state,
//! the plan applier verifies the plan against the latest state, the result is applied,
//! evaluations that could not place everything wait in the blocked tracker until the
//! feeder sees capacity appear, and the deployment watcher moves rollouts on once the
//! rest is quiet. Everything is deterministic: IDs come from a seeded generator and
//! time only moves when [`Cluster::advance`] is called, so a failing seed replays exactly.
//! After every step the caller can check invariants ([`Cluster::check_invariants`]).
//!
//! The autoscaler runs when the caller asks ([`Cluster::autoscale`]), with the metrics
//! the caller hands it.
//!
//! `report` answers what the cluster looks like ([`ClusterReport`]) and how many more of
//! a job fit, and where ([`FitReport`]).

mod csi;
mod health;
mod heartbeat;
mod report;
mod watchers;

use std::collections::BTreeSet;

pub use report::{ClusterReport, FitReport};
pub use watchers::ScalingOutcome;

use crate::broker::{BlockedEvals, BrokerConfig, EvalBroker};
use crate::canonical::canonicalize_job;
use crate::leader::{EvalRun, Feeder, HeartbeatConfig, HeartbeatTimers, PlanVerdict};
use crate::model::{
    AllocationMetric, DrainStrategy, Evaluation, Job, Node, client_status, eval_status, job_type,
    node_status, trigger,
};
use crate::scheduler::SchedulerConfig;
use crate::scheduler::rng::SchedRng;
use crate::scheduler::verify::verify_plan_owned;
use crate::state::{
    AllocClientState, AllocClientUpdate, Command, EvalUpsert, JobDeregister, JobRegister,
    NodeDrain, NodeRegister, NodeStatusUpdate, Response, StateError, StateStore,
};
use crate::validate::{ValidationErrors, validate_job};

pub use crate::scheduler::MAX_PLAN_ATTEMPTS;

/// What can go wrong driving a simulated cluster.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The job is invalid.
    #[error("job refused: {0}")]
    InvalidJob(#[from] ValidationErrors),
    /// The state machine refused a command (a bug in the harness or the scheduler).
    #[error("state machine refused a command: {0}")]
    State(#[from] StateError),
    /// The node does not exist.
    #[error("no node {0:?} in the simulated cluster")]
    UnknownNode(String),
}

/// Counters of what the harness did, for reports and benches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Evaluations processed by a scheduler.
    pub evals_processed: u64,
    /// Plans submitted to the applier.
    pub plans_submitted: u64,
    /// Node parts of plans the applier refused (each causes a re-plan).
    pub plan_nodes_rejected: u64,
    /// Evaluations that ended blocked.
    pub evals_blocked: u64,
}

/// A simulated cluster. See the module documentation.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The replicated state, as every server would hold it.
    pub state: StateStore,
    /// The leader's evaluation broker.
    pub broker: EvalBroker,
    /// Evaluations waiting for capacity.
    pub blocked: BlockedEvals,
    /// Scheduler settings.
    pub config: SchedulerConfig,
    /// Virtual time, Unix nanoseconds.
    pub now: i64,
    /// What happened so far.
    pub stats: SimStats,
    /// The leader's feeder (the same state machine the servers run).
    feeder: Feeder,
    /// Heartbeat timers of the clients that stopped heartbeating
    /// ([`Cluster::stop_heartbeats`]); live clients always heartbeat in time.
    silent: HeartbeatTimers,
    /// The deployment watcher's memory (the healthy counts already acted on).
    deployments: crate::leader::deployments::Watcher,
    /// Periodic launches skipped for `prohibit_overlap` (the dispatcher's memory).
    periodic_skipped: std::collections::BTreeMap<crate::state::JobKey, i64>,
    /// When each scaling policy is next due ([`Cluster::autoscale`]).
    autoscaler: crate::leader::autoscaler::PolicyClock,
    rng: SchedRng,
    next_id: u64,
}

/// Formats random bits and a sequence number as a UUID (unique through the sequence).
/// Written digit by digit: every placement takes an ID, and `format!` cost more than
/// a tenth of a placement.
fn uuid_like(random: u64, seq: u64) -> String {
    let mut out = String::with_capacity(36);
    push_hex(&mut out, random >> 32, 8);
    out.push('-');
    push_hex(&mut out, (random >> 16) & 0xffff, 4);
    out.push_str("-4");
    push_hex(&mut out, random & 0xfff, 3);
    out.push_str("-8");
    push_hex(&mut out, (seq >> 48) & 0xfff, 3);
    out.push('-');
    push_hex(&mut out, seq & 0xffff_ffff_ffff, 12);
    out
}

/// Appends the low `digits` hex digits of `v`, lowercase, zero-padded.
fn push_hex(out: &mut String, v: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((v >> (4 * i)) & 0xf) as usize]));
    }
}

/// Virtual start time: 2024-01-01T00:00:00Z.
pub const EPOCH: i64 = 1_704_067_200_000_000_000;

const SCHEDULERS: &[&str] = &[
    job_type::SERVICE,
    job_type::BATCH,
    job_type::SYSTEM,
    job_type::SYSBATCH,
];

impl Cluster {
    /// An empty cluster whose whole behaviour is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut broker = EvalBroker::new(BrokerConfig::default());
        broker.set_enabled(true);
        Cluster {
            state: StateStore::new(),
            broker,
            blocked: BlockedEvals::new(),
            config: SchedulerConfig::default(),
            now: EPOCH,
            stats: SimStats::default(),
            feeder: Feeder::new(),
            silent: HeartbeatTimers::new(HeartbeatConfig::default()),
            deployments: crate::leader::deployments::Watcher::new(),
            periodic_skipped: std::collections::BTreeMap::new(),
            autoscaler: Default::default(),
            rng: SchedRng::new(seed),
            next_id: 0,
        }
    }

    /// A fresh UUID-shaped ID, deterministic for the seed.
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        uuid_like(self.rng.next_u64(), self.next_id)
    }

    fn apply(&mut self, cmd: Command) -> Result<Response, SimError> {
        let index = self.state.latest_index() + 1;
        Ok(self.state.apply(index, cmd)?)
    }

    /// Moves virtual time forward; delayed evaluations whose time came are released.
    pub fn advance(&mut self, nanos: i64) {
        self.now = self.now.saturating_add(nanos.max(0));
        self.broker.tick(self.now);
    }

    /// Registers a node and marks it ready; system jobs get an evaluation for it and
    /// blocked evaluations that its class could satisfy are released.
    pub fn add_node(&mut self, mut node: Node) -> Result<(), SimError> {
        node.status = node_status::READY.into();
        let id = node.id.clone();
        self.apply(Command::NodeRegister(NodeRegister {
            node,
            now: self.now,
        }))?;
        self.node_changed(&id)
    }

    /// Marks a node down: its allocations are lost and replaced elsewhere.
    pub fn fail_node(&mut self, node_id: &str) -> Result<(), SimError> {
        self.set_node_status(node_id, node_status::DOWN)
    }

    fn set_node_status(&mut self, node_id: &str, status: &str) -> Result<(), SimError> {
        self.known_node(node_id)?;
        self.apply(Command::NodeStatusUpdate(NodeStatusUpdate {
            node_id: node_id.into(),
            status: status.into(),
            now: self.now,
        }))?;
        self.node_changed(node_id)
    }

    /// Drains a node with Nomad's `-force` (deadline -1): it takes no new work and the
    /// drainer marks every allocation on it for migration at once.
    pub fn drain_node(&mut self, node_id: &str) -> Result<(), SimError> {
        let force = DrainStrategy {
            deadline: -1,
            ..DrainStrategy::default()
        };
        self.drain_node_with(node_id, force)
    }

    /// Drains a node with `strategy`: the leader's drainer moves its allocations at each
    /// group's `migrate` pace (waiting for replacements to be healthy) and all at once
    /// when the deadline passes.
    pub fn drain_node_with(
        &mut self,
        node_id: &str,
        strategy: DrainStrategy,
    ) -> Result<(), SimError> {
        self.known_node(node_id)?;
        self.apply(Command::NodeDrain(NodeDrain {
            node_id: node_id.into(),
            drain_strategy: Some(strategy),
            mark_eligible: false,
            drain_complete: false,
            now: self.now,
        }))?;
        self.node_changed(node_id)
    }

    fn known_node(&self, node_id: &str) -> Result<(), SimError> {
        self.state
            .node(node_id)
            .map(|_| ())
            .ok_or_else(|| SimError::UnknownNode(node_id.into()))
    }

    /// Writes the evaluations a node change calls for (every job with allocations on
    /// the node, every system job), as the servers do; the feeder releases what the
    /// node's new capacity may let place.
    fn node_changed(&mut self, node_id: &str) -> Result<(), SimError> {
        let (now, mut seq, salt) = (self.now, self.next_id, self.rng.next_u64());
        let evals =
            crate::scheduler::triggers::node_update_evals(&self.state, node_id, now, &mut || {
                seq += 1;
                uuid_like(SchedRng::new(salt ^ seq).next_u64(), seq)
            });
        self.next_id = seq;
        self.write_pending(evals)
    }

    fn eval_for(
        &mut self,
        ns: &str,
        job_id: &str,
        priority: i32,
        jtype: &str,
        why: &str,
    ) -> Evaluation {
        Evaluation {
            id: self.new_id(),
            namespace: ns.into(),
            priority,
            eval_type: jtype.into(),
            triggered_by: why.into(),
            job_id: job_id.into(),
            status: eval_status::PENDING.into(),
            create_time: self.now,
            modify_time: self.now,
            ..Evaluation::default()
        }
    }

    /// Stores evaluations as pending; the next feeder pass queues them.
    fn write_pending(&mut self, evals: Vec<Evaluation>) -> Result<(), SimError> {
        if evals.is_empty() {
            return Ok(());
        }
        let evals: Vec<Evaluation> = evals
            .into_iter()
            .map(|mut e| {
                e.status = eval_status::PENDING.into();
                e
            })
            .collect();
        self.apply(Command::EvalUpsert(EvalUpsert { evals }))?;
        Ok(())
    }

    /// Registers (or updates) a job: canonicalized, validated, stored with an
    /// evaluation that is queued. Returns the evaluation ID (empty for periodic and
    /// parameterized jobs, which get none).
    pub fn submit_job(&mut self, mut job: Job) -> Result<String, SimError> {
        canonicalize_job(&mut job);
        validate_job(&job)?;
        let eval = (!job.is_template()).then(|| {
            let (ns, id, p, t) = (
                job.namespace.clone(),
                job.id.clone(),
                job.priority,
                job.job_type.clone(),
            );
            self.eval_for(&ns, &id, p, &t, trigger::JOB_REGISTER)
        });
        let id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        self.apply(Command::JobRegister(JobRegister {
            job,
            eval,
            enforce_index: None,
            preserve_counts: false,
            now: self.now,
        }))?;
        Ok(id)
    }

    /// Stops a job (or purges it); its allocations are stopped by the scheduler and its
    /// blocked evaluation, if any, is canceled by the next feeder pass.
    pub fn stop_job(&mut self, namespace: &str, job_id: &str, purge: bool) -> Result<(), SimError> {
        let job = self.state.job(namespace, job_id).cloned();
        let (p, t) = job.map_or((50, job_type::SERVICE.to_string()), |j| {
            (j.priority, j.job_type)
        });
        let eval = self.eval_for(namespace, job_id, p, &t, trigger::JOB_DEREGISTER);
        self.apply(Command::JobDeregister(JobDeregister {
            namespace: namespace.into(),
            job_id: job_id.into(),
            purge,
            eval: Some(eval),
            now: self.now,
        }))?;
        Ok(())
    }

    /// Plays the clients: every pending allocation starts running.
    pub fn start_pending_allocs(&mut self) -> Result<usize, SimError> {
        self.set_client_status(|s| s == client_status::PENDING, client_status::RUNNING)
    }

    /// Plays the clients: every running allocation of a batch job completes.
    pub fn complete_batch_allocs(&mut self) -> Result<usize, SimError> {
        let batch: BTreeSet<(String, String)> = self
            .state
            .jobs()
            .filter(|j| j.job_type == job_type::BATCH || j.job_type == job_type::SYSBATCH)
            .map(|j| (j.namespace.clone(), j.id.clone()))
            .collect();
        let ids: Vec<String> = self
            .state
            .allocs()
            .filter(|a| {
                !a.terminal() && batch.contains(&(a.namespace.to_string(), a.job_id.to_string()))
            })
            .map(|a| a.id.clone())
            .collect();
        self.client_update(&ids, client_status::COMPLETE)
    }

    fn set_client_status(
        &mut self,
        from: impl Fn(&str) -> bool,
        to: &str,
    ) -> Result<usize, SimError> {
        let ids: Vec<String> = self
            .state
            .allocs()
            .filter(|a| !a.server_terminal() && from(&a.client_status))
            .map(|a| a.id.clone())
            .collect();
        self.client_update(&ids, to)
    }

    /// Reports a client status for allocations. What ends frees capacity and quota,
    /// which the next feeder pass turns into releases of blocked evaluations.
    pub fn client_update(&mut self, alloc_ids: &[String], status: &str) -> Result<usize, SimError> {
        if alloc_ids.is_empty() {
            return Ok(0);
        }
        let allocs = alloc_ids
            .iter()
            .map(|id| AllocClientState {
                id: id.clone(),
                client_status: status.into(),
                ..AllocClientState::default()
            })
            .collect();
        self.report_clients(allocs)?;
        Ok(alloc_ids.len())
    }

    /// Applies what the clients report about their allocations, as a client update.
    fn report_clients(&mut self, allocs: Vec<AllocClientState>) -> Result<(), SimError> {
        self.apply(Command::AllocClientUpdate(AllocClientUpdate {
            allocs,
            evals: Vec::new(),
            now: self.now,
        }))?;
        Ok(())
    }

    /// Creates or replaces a namespace (its quota must exist).
    pub fn upsert_namespace(&mut self, ns: crate::model::Namespace) -> Result<(), SimError> {
        self.apply(Command::NamespaceUpsert(crate::state::NamespaceUpsert {
            namespaces: vec![ns],
        }))?;
        Ok(())
    }

    /// Creates or replaces a quota specification; raising a limit releases the
    /// quota-blocked evaluations of its namespaces (at the next feeder pass).
    pub fn upsert_quota(&mut self, quota: crate::model::QuotaSpec) -> Result<(), SimError> {
        self.apply(Command::QuotaUpsert(crate::state::QuotaUpsert {
            quotas: vec![quota],
        }))?;
        Ok(())
    }

    /// One pass of the leader's feeder ([`Feeder`]): new evaluations into the broker
    /// and the blocked tracker, releases written back. True when it wrote anything.
    fn feed(&mut self) -> Result<bool, SimError> {
        let (now, rng, next_id) = (self.now, &mut self.rng, &mut self.next_id);
        let pass = self.feeder.collect(&self.state, now, &mut || {
            *next_id += 1;
            uuid_like(rng.next_u64(), *next_id)
        });
        let out = self
            .feeder
            .apply(pass, &mut self.broker, &mut self.blocked, &self.state, now);
        let wrote = !out.is_empty();
        for cmd in out.into_commands() {
            self.apply(cmd)?;
        }
        Ok(wrote)
    }

    /// Runs the leader until nothing is left to do: heartbeat timers that ran out,
    /// feeder passes, every ready evaluation through the scheduler, the plan applier
    /// and the state, and the deployment watcher once the rest is quiet. Returns how
    /// many evaluations were processed.
    pub fn run_to_quiescence(&mut self) -> Result<u64, SimError> {
        let mut processed = 0;
        self.expire_heartbeats()?;
        loop {
            let wrote = self.feed()?;
            self.broker.tick(self.now);
            if let Some((eval, token)) = self.broker.dequeue(SCHEDULERS, self.now) {
                self.process(eval, &token)?;
                processed += 1;
            } else if !wrote && !self.run_watchers()? {
                return Ok(processed);
            }
        }
    }

    /// One evaluation through [`EvalRun`]: the servers' worker loop, with the plan
    /// applier ([`verify_plan_owned`]) and the state applied in line.
    fn process(&mut self, eval: Evaluation, token: &str) -> Result<(), SimError> {
        self.stats.evals_processed += 1;
        let mut run = EvalRun::new(&eval);
        while !run.is_over() {
            let seed = self.rng.next_u64();
            let (now, mut counter, salt) = (self.now, self.next_id, self.rng.next_u64());
            let mut ids = || {
                counter += 1;
                uuid_like(SchedRng::new(salt ^ counter).next_u64(), counter)
            };
            let plan = run.schedule(&self.state, &self.config, seed, now, &mut ids);
            self.next_id = counter;
            let Some(plan) = plan else { break };
            self.stats.plans_submitted += 1;
            let result = verify_plan_owned(&self.state, plan);
            self.stats.plan_nodes_rejected += result.rejected_nodes.len() as u64;
            run.plan_applied(PlanVerdict::of(&result));
            self.apply(result.into_command(self.now))?;
        }
        if run.blocked().is_some() {
            self.stats.evals_blocked += 1;
        }
        let (now, rng, seq) = (self.now, &mut self.rng, &mut self.next_id);
        let finished = run.finish(
            || {
                *seq += 1;
                uuid_like(rng.next_u64(), *seq)
            },
            now,
        );
        if let Some(cmd) = finished {
            self.apply(cmd)?;
        }
        let _ = self.broker.ack(&eval.id, token);
        let cancelable = self.broker.take_cancelable();
        if !cancelable.is_empty() {
            self.apply(Command::EvalUpsert(EvalUpsert { evals: cancelable }))?;
        }
        Ok(())
    }

    /// Unplaced allocations per group of a job, as blocked evaluations record them.
    pub fn unplaced(
        &self,
        namespace: &str,
        job_id: &str,
    ) -> std::collections::BTreeMap<String, u64> {
        self.blocked.unplaced_for_job(namespace, job_id)
    }

    /// The placement metrics of a job's blocked evaluation, per group: why it does not fit.
    pub fn failures(
        &self,
        namespace: &str,
        job_id: &str,
    ) -> std::collections::BTreeMap<String, AllocationMetric> {
        self.blocked
            .blocked_by_job(namespace, job_id)
            .map(|e| e.failed_tg_allocs.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    /// The digit-by-digit ID is the text the `format!` it replaced wrote.
    #[test]
    fn uuid_like_matches_the_format_it_replaced() {
        for (r, s) in [(0, 0), (u64::MAX, u64::MAX), (0x0123_4567_89ab_cdef, 42)] {
            let old = format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                (r >> 32) as u32,
                (r >> 16) as u16,
                r as u16 & 0xfff,
                (s >> 48) as u16 & 0xfff,
                s & 0xffff_ffff_ffff
            );
            assert_eq!(super::uuid_like(r, s), old);
        }
    }
}
