//! One allocation on this client: builds its directory, asks orch-core's lifecycle plan
//! which tasks run when, runs a [`TaskRunner`] per task, turns their states into the
//! allocation's client status, persists everything for reattach, and reports changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use orch_core::lifecycle::{KillReason, LifecyclePlan, TaskRun};
use orch_core::model::{Allocation, Node, TaskGroup, TaskState, desired_status};
use orch_core::state::AllocClientState;
use tokio::sync::mpsc;

use super::alloc_dir::AllocDir;
use super::driver::DriverRegistry;
use super::health::HealthTracker;
use super::network::{AllocNetwork, NetworkManager};

mod commands;
mod prestart;
mod report;
mod resume;
mod spawn;

use super::server_conn::ServerConn;
use super::services::{self, CheckContext, CheckResults};
use super::state::{LocalAllocState, LocalTaskState, StateDir};
use super::task_runner::{TaskCommand, TaskUpdate, event, new_event};
pub use commands::{RestartRefused, RestartRequest};
pub use report::is_finished;

/// Requests from the client to an allocation runner.
#[derive(Debug)]
pub enum AllocCommand {
    /// A newer version of the allocation from the servers (desired status, job).
    Update(Box<Allocation>),
    /// Send a signal to one task (or every task when `None`).
    Signal {
        /// Task name.
        task: Option<String>,
        /// Signal name.
        signal: String,
    },
    /// Restart tasks in place (`alloc restart`), outside their restart policy.
    Restart(RestartRequest),
    /// Where `alloc exec` runs a command beside a running task.
    ExecTarget {
        /// Task name.
        task: String,
        /// The target, or why there is none (unknown or not running task).
        reply: tokio::sync::oneshot::Sender<Result<super::driver::ExecTarget, String>>,
    },
}

/// Where allocation runners put the state the servers must learn; the client's syncer
/// sends it in batches.
#[derive(Default)]
pub struct Reporter {
    pending: Mutex<BTreeMap<String, AllocClientState>>,
    /// Woken when something was queued.
    pub notify: tokio::sync::Notify,
}

impl Reporter {
    /// Queues the newest state of an allocation (replacing an unsent older one).
    pub fn push(&self, update: AllocClientState) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(update.id.clone(), update);
        self.notify.notify_one();
    }

    /// Takes everything queued.
    pub fn take(&self) -> Vec<AllocClientState> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
            .into_values()
            .collect()
    }

    /// Puts back updates that could not be sent, unless newer ones were queued since.
    pub fn put_back(&self, updates: Vec<AllocClientState>) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for u in updates {
            p.entry(u.id.clone()).or_insert(u);
        }
    }
}

/// What the rest of the client (HTTP endpoints, stats) may read of a running allocation.
pub type SharedAllocState = Arc<Mutex<LocalAllocState>>;

/// Everything an allocation runner needs.
pub struct AllocRunner {
    /// Shared view, also the persisted state.
    pub state: SharedAllocState,
    /// This node.
    pub node: Arc<Node>,
    /// The agent's region.
    pub region: String,
    /// Drivers.
    pub drivers: DriverRegistry,
    /// Its directory.
    pub dir: AllocDir,
    /// Where state is persisted.
    pub state_dir: StateDir,
    /// Status reports.
    pub reporter: Arc<Reporter>,
    /// Requests.
    pub commands: mpsc::UnboundedReceiver<AllocCommand>,
    /// The state came from disk (a restarted client): reattach instead of starting.
    pub restoring: bool,
    /// The servers (service registrations).
    pub conn: Arc<ServerConn>,
    /// Service check results, shared with the HTTP API.
    pub checks: CheckResults,
    /// Environment and directory of each started task (script checks).
    pub task_envs: TaskEnvs,
    /// Builds and removes the group's network namespace (bridge, none, cni modes).
    pub network: NetworkManager,
    /// This client's runner state of the allocation this one replaces, if it has one
    /// (a sticky disk is taken over once it stopped).
    pub previous: Option<SharedAllocState>,
    /// The node's CSI plugins and mounts.
    pub csi: Arc<super::csi::CsiManager>,
    /// Where each CSI volume request of the group is published (set before the
    /// tasks start).
    pub csi_mounts: BTreeMap<String, std::path::PathBuf>,
}

/// Each started task's environment and directory.
pub type TaskEnvs = Arc<Mutex<BTreeMap<String, (BTreeMap<String, String>, std::path::PathBuf)>>>;

/// What the task loop of one allocation keeps between rounds.
struct TaskLoop {
    /// Task runners report here.
    upd_tx: mpsc::UnboundedSender<TaskUpdate>,
    upd_rx: mpsc::UnboundedReceiver<TaskUpdate>,
    /// Each task as the lifecycle plan sees it.
    observed: BTreeMap<String, TaskRun>,
    /// Commands to each running task's runner.
    senders: BTreeMap<String, mpsc::UnboundedSender<TaskCommand>>,
    /// Tasks already told to stop.
    killed: BTreeSet<String>,
    /// The allocation is to stop.
    stopping: bool,
    /// The deployment health verdict still to give, if any.
    health: Option<HealthTracker>,
    svc: services::AllocServices,
    catalog: CatalogState,
    /// Checks with `check_restart` ask for a task restart here.
    restart_tx: mpsc::UnboundedSender<String>,
    restart_rx: mpsc::UnboundedReceiver<String>,
    /// Dependents stopped because a task they depend on restarts after a failure
    /// (`resume = "from_failure"`): pending again once stopped.
    rearming: BTreeSet<String>,
}

impl TaskLoop {
    fn new(
        observed: BTreeMap<String, TaskRun>,
        stopping: bool,
        svc: services::AllocServices,
    ) -> Self {
        let (upd_tx, upd_rx) = mpsc::unbounded_channel();
        let (restart_tx, restart_rx) = mpsc::unbounded_channel();
        TaskLoop {
            upd_tx,
            upd_rx,
            observed,
            senders: BTreeMap::new(),
            killed: BTreeSet::new(),
            stopping,
            health: None,
            svc,
            catalog: CatalogState::default(),
            restart_tx,
            restart_rx,
            rearming: BTreeSet::new(),
        }
    }

    /// Tells each task the plan kills (once) to stop, with the event that says why.
    fn kill(&mut self, kills: &[(String, KillReason)]) {
        for (name, reason) in kills {
            if self.killed.contains(name) {
                continue;
            }
            let Some(tx) = self.senders.get(name) else {
                continue;
            };
            self.killed.insert(name.clone());
            let cause = match reason {
                KillReason::SiblingFailed(t) => {
                    let mut ev = new_event(
                        event::SIBLING_FAILED,
                        format!("Task's sibling {t:?} failed"),
                    );
                    ev.details.insert("failed_sibling".into(), t.clone());
                    Some(ev)
                }
                KillReason::LeaderDead(t) => Some(new_event(
                    event::LEADER_DEAD,
                    format!("Leader Task {t:?} is dead"),
                )),
                KillReason::MainTasksDone | KillReason::AllocStopping => None,
            };
            let _ = tx.send(TaskCommand::Kill { cause });
        }
    }
}

/// The allocation's presence in the service catalog and its running checks.
#[derive(Default)]
struct CatalogState {
    registered: bool,
    check_tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl CatalogState {
    /// Registers the services and starts their checks (once the main tasks run).
    fn register(
        &mut self,
        runner: &AllocRunner,
        svc: &services::AllocServices,
        restart: &mpsc::UnboundedSender<String>,
    ) {
        self.registered = true;
        if !svc.registrations.is_empty() {
            let conn = Arc::clone(&runner.conn);
            let node = runner.node.id.clone();
            let regs = svc.registrations.clone();
            tokio::spawn(async move {
                // Retried: the catalog must learn about a running service eventually.
                for _ in 0..30 {
                    match conn.sync_services(&node, &regs, &[]).await {
                        Ok(()) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "service registration failed; retrying")
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            });
        }
        let ctx = CheckContext {
            http: crate::tls::http_client(),
            results: Arc::clone(&runner.checks),
            tasks: runner
                .task_envs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            restart: restart.clone(),
        };
        for spec in &svc.checks {
            self.check_tasks.push(tokio::spawn(services::check_loop(
                spec.clone(),
                ctx.clone(),
            )));
        }
    }

    /// Stops the checks and removes the services (before tasks are killed, so callers
    /// stop sending traffic first).
    fn deregister(&mut self, runner: &AllocRunner) {
        self.registered = false;
        for t in self.check_tasks.drain(..) {
            t.abort();
        }
        let conn = Arc::clone(&runner.conn);
        let node = runner.node.id.clone();
        let alloc = runner.snapshot().alloc.id;
        tokio::spawn(async move {
            let _ = conn.sync_services(&node, &[], &[alloc]).await;
        });
    }
}

impl AllocRunner {
    /// Runs the allocation until its tasks are finished, then keeps answering updates
    /// until the client drops it; an in-place resume (`alloc restart` of a failed
    /// allocation with `resume = "from_failure"`) runs it again.
    pub async fn run(mut self) {
        let alloc = self.snapshot().alloc;
        let group = alloc
            .job
            .as_ref()
            .and_then(|j| j.group(&alloc.task_group))
            .cloned();
        let Some(group) = group else {
            self.fail_setup("the allocation's job or task group is missing");
            self.idle(None).await;
            return;
        };
        let plan = match orch_core::lifecycle::plan(&group) {
            Ok(p) => p,
            Err(e) => {
                self.fail_setup(&e.to_string());
                self.idle(None).await;
                return;
            }
        };
        if let Err(e) = self.dir.build(group.tasks.iter().map(|t| t.name.as_str())) {
            self.fail_setup(&format!(
                "cannot build the allocation directory {}: {e}",
                self.dir.root.display()
            ));
            self.idle(None).await;
            return;
        }
        self.take_sticky_disk(&group).await;
        loop {
            self.run_once(&group, &plan).await;
            if !self.idle(Some(&group)).await {
                return;
            }
            self.restoring = false;
        }
    }

    /// One run of the allocation: its volumes, its network, its tasks to their outcome.
    async fn run_once(&mut self, group: &TaskGroup, plan: &LifecyclePlan) {
        let alloc = self.snapshot().alloc;
        // Stopped before it started: nothing to mount, the task loop ends it.
        let starts = alloc.desired_status == desired_status::RUN || self.restoring;
        if starts && let Err(e) = self.prepare_volumes(group, &alloc.name).await {
            // Unmounted before the failure is reported: the report ends the claims.
            self.release_csi().await;
            self.fail_setup(&e);
            return;
        }
        let net = match self.setup_network(group).await {
            Ok(net) => net,
            Err(e) => {
                self.fail_setup(&e);
                return;
            }
        };
        if self.run_tasks(group, plan, net.as_ref()).await {
            self.teardown_network().await;
        }
    }

    fn snapshot(&self) -> LocalAllocState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs the allocation's tasks in lifecycle order until it reaches an outcome (true)
    /// or the client shuts down (false): each round judges health, keeps the service
    /// catalog in step, starts and kills what the lifecycle plan says, then waits for
    /// the next event.
    async fn run_tasks(
        &mut self,
        group: &TaskGroup,
        plan: &LifecyclePlan,
        net: Option<&AllocNetwork>,
    ) -> bool {
        let observed = self.initial_task_runs(group);
        self.persist_and_report(false);
        let mut lp = TaskLoop::new(
            observed,
            self.snapshot().alloc.desired_status != desired_status::RUN,
            services::build(&self.snapshot().alloc, group, &self.node),
        );
        // Tasks an earlier client process started are handed to runners at once, so they
        // reattach (or learn how the task ended while the client was away).
        if self.restoring {
            for (name, run) in lp.observed.clone() {
                if run == TaskRun::Running {
                    self.spawn_task(group, &name, net, &lp.upd_tx, &mut lp.senders);
                }
            }
        }
        lp.health = self.health_tracker(group, plan);
        loop {
            self.judge_health(&mut lp);
            self.sync_catalog(&mut lp, plan);
            let healthy = self.healthy_tasks(&lp);
            let decision = plan.next_with_health(&lp.observed, &healthy, lp.stopping);
            for name in &decision.start {
                if !lp.senders.contains_key(name) {
                    // Running once its runner says its process started.
                    lp.observed.insert(name.clone(), TaskRun::Starting);
                    self.spawn_task(group, name, net, &lp.upd_tx, &mut lp.senders);
                }
            }
            lp.kill(&decision.kill);
            if let Some(outcome) = decision.outcome {
                if lp.catalog.registered {
                    lp.catalog.deregister(self);
                }
                // Claims end when the allocation is reported terminal: unmount first.
                self.release_csi().await;
                self.finish(outcome);
                return true;
            }
            if !self.next_event(group, plan, &mut lp).await {
                return false;
            }
        }
    }

    /// Every task's local state (a new one is pending, "Task received by client") and
    /// what the lifecycle plan should take it to be now.
    fn initial_task_runs(&self, group: &TaskGroup) -> BTreeMap<String, TaskRun> {
        let mut observed = BTreeMap::new();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // `resume = "from_failure"`: tasks that succeeded in the allocation this one
        // replaces arrive with their state and are never run again.
        let resumed = orch_core::lifecycle::resume::resumed_runs(group, &st.alloc.task_states);
        let carried = st.alloc.task_states.clone();
        for task in &group.tasks {
            let entry = st.tasks.entry(task.name.clone()).or_insert_with(|| {
                if let Some(state) = carried
                    .get(&task.name)
                    .filter(|_| resumed.contains_key(&task.name))
                {
                    return LocalTaskState {
                        state: state.clone(),
                        done: true,
                        ..LocalTaskState::default()
                    };
                }
                let mut s = LocalTaskState {
                    state: TaskState {
                        state: "pending".into(),
                        ..TaskState::default()
                    },
                    ..LocalTaskState::default()
                };
                s.state
                    .events
                    .push(new_event(event::RECEIVED, "Task received by client"));
                s
            });
            let run = if entry.done {
                super::task_runner::finished_run(entry)
            } else if entry.handle.is_some() || entry.state.started_at.0 != 0 {
                TaskRun::Running
            } else {
                TaskRun::NotStarted
            };
            observed.insert(task.name.clone(), run);
        }
        observed
    }

    /// The tasks whose own service checks all pass, for `condition = "healthy"`
    /// dependencies (the lifecycle plan counts a running task without checks healthy).
    fn healthy_tasks(&self, lp: &TaskLoop) -> BTreeSet<String> {
        let mut by_task: BTreeMap<&str, Vec<services::CheckSpec>> = BTreeMap::new();
        for c in &lp.svc.checks {
            by_task.entry(c.task.as_str()).or_default().push(c.clone());
        }
        by_task
            .into_iter()
            .filter(|(_, checks)| services::all_passing(&self.checks, checks) == Some(true))
            .map(|(task, _)| task.to_string())
            .collect()
    }

    /// Asks the health tracker for a verdict and reports it once there is one.
    fn judge_health(&self, lp: &mut TaskLoop) {
        let Some(h) = lp.health.as_mut() else {
            return;
        };
        let tasks = self.snapshot().tasks;
        let checks = services::all_passing(&self.checks, &lp.svc.checks);
        if let Some(healthy) = h.observe(&tasks, checks, std::time::Instant::now()) {
            self.set_health(&h.deployment_id.clone(), healthy);
            lp.health = None;
        }
    }

    /// Registers the services once a main task runs, and deregisters them on stop.
    fn sync_catalog(&self, lp: &mut TaskLoop, plan: &LifecyclePlan) {
        let main_running = lp.observed.iter().any(|(name, run)| {
            *run == TaskRun::Running
                && plan.role(name) == Some(orch_core::lifecycle::TaskRole::Main)
                && self
                    .snapshot()
                    .tasks
                    .get(name)
                    .is_some_and(|t| t.state.state == "running")
        });
        if !lp.stopping && main_running && !lp.catalog.registered {
            lp.catalog.register(self, &lp.svc, &lp.restart_tx);
        }
        if lp.stopping && lp.catalog.registered {
            lp.catalog.deregister(self);
        }
    }

    /// Waits for the next thing to act on: a health deadline, a check asking for a
    /// restart, a task update, or a command from the client. `false` once the client
    /// shuts down (tasks keep running for the next one).
    async fn next_event(
        &mut self,
        group: &TaskGroup,
        plan: &LifecyclePlan,
        lp: &mut TaskLoop,
    ) -> bool {
        let mut health_check = lp.health.as_ref().map(|h| h.next_check());
        let checks_matter =
            lp.health.as_ref().is_some_and(|h| h.use_checks) || plan.waits_for_checks();
        if checks_matter && !lp.svc.checks.is_empty() {
            let soon = std::time::Instant::now() + std::time::Duration::from_millis(500);
            health_check = Some(health_check.map_or(soon, |t| t.min(soon)));
        }
        tokio::select! {
            _ = sleep_until(health_check) => {}
            Some(task) = lp.restart_rx.recv() => {
                if let Some(tx) = lp.senders.get(&task) {
                    let _ = tx.send(TaskCommand::Restart {
                        reason: "health check failed (check_restart)".into(),
                        by_user: false,
                    });
                }
            }
            Some(mut upd) = lp.upd_rx.recv() => {
                if !self.take_rearmed(lp, &mut upd) {
                    self.rearm_dependents(group, lp, &upd);
                    lp.observed.insert(upd.task.clone(), upd.run);
                }
                self.state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .tasks
                    .insert(upd.task.clone(), upd.local);
                self.persist_and_report(false);
            }
            cmd = self.commands.recv() => return self.on_command(cmd, group, plan, lp),
        }
        true
    }

    /// A health tracker when the allocation's deployment still needs a verdict.
    fn health_tracker(&self, group: &TaskGroup, plan: &LifecyclePlan) -> Option<HealthTracker> {
        let st = self.snapshot();
        let decided = st.deployment_health.as_ref().is_some_and(|_| {
            st.health_deployment.as_deref() == Some(st.alloc.deployment_id.as_str())
        });
        if decided {
            return None;
        }
        HealthTracker::new(&st.alloc, group, plan, std::time::Instant::now())
    }

    /// The health tracker after an allocation update (see
    /// [`HealthTracker::after_update`]), judged by the updated job's group (an in-place
    /// update may change its `update` block).
    fn health_after_update(
        &self,
        current: Option<HealthTracker>,
        group: &TaskGroup,
        plan: &LifecyclePlan,
    ) -> Option<HealthTracker> {
        let st = self.snapshot();
        let updated = st
            .alloc
            .job
            .as_ref()
            .and_then(|j| j.group(&st.alloc.task_group));
        let decided_for = st
            .deployment_health
            .as_ref()
            .and(st.health_deployment.as_deref());
        HealthTracker::after_update(
            current,
            &st.alloc,
            updated.unwrap_or(group),
            plan,
            decided_for,
            std::time::Instant::now(),
        )
    }

    fn set_health(&self, deployment_id: &str, healthy: bool) {
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.deployment_health = Some(orch_core::model::AllocDeploymentStatus {
                healthy: Some(healthy),
                timestamp: orch_core::model::Timestamp(crate::clock::now_nanos()),
                ..Default::default()
            });
            st.health_deployment = Some(deployment_id.to_string());
        }
        self.persist_and_report(false);
    }
}

/// A stable per-task seed for restart jitter.
fn seed_of(alloc_id: &str, task: &str) -> u64 {
    // FNV-1a: stable across processes, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in alloc_id.bytes().chain([0]).chain(task.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// The allocation's group ports with their assigned host ports (for drivers that map
/// them, as docker does).
fn port_mappings(alloc: &Allocation) -> Vec<super::driver::PortMapping> {
    alloc
        .allocated_resources
        .shared
        .ports
        .iter()
        .map(|p| super::driver::PortMapping {
            label: p.label.clone(),
            host_ip: p.host_ip.clone(),
            value: p.value,
            to: u16::try_from(p.to).unwrap_or(0),
        })
        .collect()
}
