//! What runs when inside one allocation: Nomad's task lifecycle (`prestart`, main,
//! `poststart`, `poststop`, sidecars, the leader), the client's restart policy
//! ([`restart`]) and the task's runtime environment and `${...}` interpolation ([`env`]).
//!
//! Everything here is pure: the client's task runners observe their tasks and ask
//! [`LifecyclePlan::next`] what to do; time arrives as Unix nanoseconds and randomness
//! from a seed.
//!
//! The start dependencies are a petgraph DAG (task → task edges labelled with the
//! condition the source must reach): Nomad's hooks, and orch's task dependencies
//! (`lifecycle { depends_on, condition }`, [`deps`]):
//!
//! | edge | condition on the source |
//! |---|---|
//! | prestart ephemeral → main | exited successfully |
//! | prestart sidecar → main | started |
//! | main → poststart | started |
//! | every non-post task → poststop, postfail | finished (dead, or will never start) |
//! | each `depends_on` task → the task | `condition`: success, started or healthy |
//!
//! On top of the graph sit the allocation-wide rules that stop the normal flow
//! ("teardown"): the server stopping the allocation, a task failing, the leader
//! exiting, all main tasks having exited (or being unable to ever start, because a
//! dependency ended without reaching its condition). `postfail` tasks (orch's hook) run
//! in a teardown only when a task failed; `poststop` tasks in every teardown.
//!
//! Modules: [`restart`] (the restart tracker), [`env`] (environment and interpolation),
//! [`deps`] (dependency checks), [`resume`] (resuming a failed allocation), and `tests` /
//! `dag_tests` (unit and property tests of the plan).

pub mod env;
pub use env::{
    InterpolationVars, TaskEnvInput, interpolate, interpolate_json, interpolation_vars, task_env,
};
pub use restart::{RestartDecision, RestartTracker};
pub mod deps;
pub mod restart;
pub use deps::{DependencyProblem, check_dependencies};
pub mod resume;

use std::collections::{BTreeMap, BTreeSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::model::{Task, TaskGroup};

#[cfg(test)]
mod dag_tests;
#[cfg(test)]
mod tests;

/// Where a task sits in the allocation's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskRole {
    /// Started first; ephemeral ones must exit successfully before main tasks start,
    /// sidecars must be running.
    Prestart { sidecar: bool },
    /// No `lifecycle` block.
    Main,
    /// Started once every main task is running.
    Poststart { sidecar: bool },
    /// Started once every other task has finished.
    Poststop,
    /// orch's hook: started once every other task has finished, only when a task
    /// failed (the allocation failed).
    Postfail,
}

impl TaskRole {
    /// The role a task's `lifecycle` block gives it.
    pub fn of(task: &Task) -> Result<TaskRole, LifecycleError> {
        let Some(lc) = &task.lifecycle else {
            return Ok(TaskRole::Main);
        };
        match lc.hook.as_str() {
            "prestart" => Ok(TaskRole::Prestart {
                sidecar: lc.sidecar,
            }),
            "poststart" => Ok(TaskRole::Poststart {
                sidecar: lc.sidecar,
            }),
            // Nomad ignores `sidecar` on poststop tasks (orch on postfail ones too).
            "poststop" => Ok(TaskRole::Poststop),
            "postfail" => Ok(TaskRole::Postfail),
            // A block with only orch's `depends_on`: a main task that waits.
            "" => Ok(TaskRole::Main),
            other => Err(LifecycleError::UnknownHook {
                task: task.name.clone(),
                hook: other.to_string(),
            }),
        }
    }

    /// Long-lived helper that is killed once the main tasks are done.
    pub fn is_sidecar(self) -> bool {
        matches!(
            self,
            TaskRole::Prestart { sidecar: true } | TaskRole::Poststart { sidecar: true }
        )
    }

    /// A task that is not restarted after it exits successfully, whatever the job type
    /// (prestart/poststart without `sidecar`, poststop).
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            TaskRole::Prestart { sidecar: false }
                | TaskRole::Poststart { sidecar: false }
                | TaskRole::Poststop
                | TaskRole::Postfail
        )
    }

    /// Runs after every other task (poststop, postfail).
    pub fn is_post(self) -> bool {
        matches!(self, TaskRole::Poststop | TaskRole::Postfail)
    }
}

/// A task's state as its task runner observes it.
///
/// A task waiting out a restart delay is `Starting` again: the task runner owns restarts,
/// and `Exited`/`Failed` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TaskRun {
    #[default]
    NotStarted,
    /// Handed to its task runner but no process runs yet (building its directory,
    /// fetching artifacts, rendering templates, waiting to restart). Alive, so never
    /// started twice and killed in a teardown, but it does not satisfy a `Started`
    /// dependency: poststart tasks wait for the main tasks' processes, as in Nomad.
    Starting,
    /// Its process runs.
    Running,
    /// Finished for good without failing the task (a successful exit, or killed).
    Exited { success: bool },
    /// Finished for good and failed: restarts exhausted, or not restartable.
    Failed,
}

impl TaskRun {
    /// Starting or running: the task runner still has work to do.
    pub fn is_alive(self) -> bool {
        matches!(self, TaskRun::Starting | TaskRun::Running)
    }

    /// Exited or failed.
    pub fn is_dead(self) -> bool {
        matches!(self, TaskRun::Exited { .. } | TaskRun::Failed)
    }
}

/// Why [`LifecyclePlan::next`] asks for a task to be killed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KillReason {
    /// This task failed; Nomad's "Sibling task failed".
    SiblingFailed(String),
    /// The leader task exited.
    LeaderDead(String),
    /// Every main task has exited: sidecars are no longer needed.
    MainTasksDone,
    /// The server stopped (or evicted) the allocation.
    AllocStopping,
}

/// How the allocation ended, once nothing runs and nothing more will start.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AllocOutcome {
    Complete,
    /// `task` is the first failed task in the group's order.
    Failed {
        task: String,
    },
}

/// What the task runners should do now. Idempotent: tasks already running are never in
/// `start`, tasks already dead are never in `kill`. Both lists are in the group's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    pub start: Vec<String>,
    pub kill: Vec<(String, KillReason)>,
    pub outcome: Option<AllocOutcome>,
}

/// Why a group's tasks cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error(
        "task {task:?}: unknown lifecycle hook {hook:?} (expected prestart, poststart, poststop or postfail)"
    )]
    UnknownHook { task: String, hook: String },
    #[error("task group {group:?} has no tasks")]
    NoTasks { group: String },
    #[error("task {task:?} appears more than once in task group {group:?}")]
    DuplicateTask { group: String, task: String },
    #[error("task group {group:?}: only one task may be marked as leader ({first:?}, {second:?})")]
    MultipleLeaders {
        group: String,
        first: String,
        second: String,
    },
    #[error("task group {group:?}: task dependencies form a cycle through {task:?}")]
    Cycle { group: String, task: String },
    #[error("task group {group:?} task {task:?} lifecycle {field}: {message}")]
    Dependency {
        group: String,
        task: String,
        field: String,
        message: String,
    },
}

/// The condition an edge's source task must reach before its target may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    /// Exited successfully.
    Succeeded,
    /// Running, or already past running.
    Started,
    /// Running with its checks passing (running, for a task without checks), or
    /// exited successfully.
    Healthy,
    /// Dead, or never going to start (only checked during teardown).
    Finished,
}

#[derive(Debug, Clone)]
struct TaskInfo {
    name: String,
    role: TaskRole,
    /// Has service checks: `healthy` then needs the client's word, not only running.
    has_checks: bool,
}

/// The start dependencies of one allocation's tasks, built once per allocation.
#[derive(Debug, Clone)]
pub struct LifecyclePlan {
    graph: DiGraph<usize, Cond>,
    /// In the group's order; `graph` node weights index into this.
    tasks: Vec<TaskInfo>,
    nodes: Vec<NodeIndex>,
    by_name: BTreeMap<String, usize>,
    leader: Option<usize>,
    /// Task indexes in a topological order of `graph`.
    order: Vec<usize>,
}

/// Builds the lifecycle plan of a task group.
pub fn plan(group: &TaskGroup) -> Result<LifecyclePlan, LifecycleError> {
    if group.tasks.is_empty() {
        return Err(LifecycleError::NoTasks {
            group: group.name.clone(),
        });
    }
    let mut tasks = Vec::with_capacity(group.tasks.len());
    let mut by_name = BTreeMap::new();
    let mut leader: Option<usize> = None;
    for (i, task) in group.tasks.iter().enumerate() {
        let role = TaskRole::of(task)?;
        if by_name.insert(task.name.clone(), i).is_some() {
            return Err(LifecycleError::DuplicateTask {
                group: group.name.clone(),
                task: task.name.clone(),
            });
        }
        if task.leader {
            if let Some(first) = leader {
                return Err(LifecycleError::MultipleLeaders {
                    group: group.name.clone(),
                    first: group.tasks[first].name.clone(),
                    second: task.name.clone(),
                });
            }
            leader = Some(i);
        }
        tasks.push(TaskInfo {
            name: task.name.clone(),
            role,
            has_checks: task.services.iter().any(|s| !s.checks.is_empty()),
        });
    }
    let roles: Vec<TaskRole> = tasks.iter().map(|t| t.role).collect();
    if let Some(p) = check_dependencies(group, &roles, None).into_iter().next() {
        return Err(LifecycleError::Dependency {
            group: group.name.clone(),
            task: tasks[p.task].name.clone(),
            field: p.field,
            message: p.message,
        });
    }

    let mut graph = DiGraph::with_capacity(tasks.len(), tasks.len() * 2);
    let nodes: Vec<NodeIndex> = (0..tasks.len()).map(|i| graph.add_node(i)).collect();
    for (from, to, cond) in deps::edges(group, &roles) {
        graph.add_edge(nodes[from], nodes[to], cond);
    }
    let order = match petgraph::algo::toposort(&graph, None) {
        Ok(order) => order.into_iter().map(|n| graph[n]).collect(),
        Err(cycle) => {
            return Err(LifecycleError::Cycle {
                group: group.name.clone(),
                task: tasks[graph[cycle.node_id()]].name.clone(),
            });
        }
    };
    Ok(LifecyclePlan {
        graph,
        tasks,
        nodes,
        by_name,
        leader,
        order,
    })
}

/// Why the allocation's normal flow has stopped, by precedence.
enum Teardown {
    Stopping,
    Failed(usize),
    LeaderDead(usize),
    MainDone,
}

impl LifecyclePlan {
    /// The role of `task`, `None` for a task not in the group.
    pub fn role(&self, task: &str) -> Option<TaskRole> {
        self.by_name.get(task).map(|&i| self.tasks[i].role)
    }

    /// The group's task names, in the group's order.
    pub fn tasks(&self) -> impl Iterator<Item = &str> {
        self.tasks.iter().map(|t| t.name.as_str())
    }

    /// Whether some task waits for a task with service checks to be `healthy`: the
    /// client must then tell [`Self::next_with_health`] when checks change.
    pub fn waits_for_checks(&self) -> bool {
        self.graph
            .edge_references()
            .any(|e| *e.weight() == Cond::Healthy && self.tasks[self.graph[e.source()]].has_checks)
    }

    /// The leader task, if one is marked `leader = true`.
    pub fn leader(&self) -> Option<&str> {
        self.leader.map(|i| self.tasks[i].name.as_str())
    }

    /// Given every task's observed state (absent = `NotStarted`) and whether the server is
    /// stopping the allocation, what to do now. Pure and deterministic. Tasks with
    /// service checks never count as healthy here (see [`Self::next_with_health`]).
    pub fn next(&self, observed: &BTreeMap<String, TaskRun>, alloc_stopping: bool) -> Decision {
        self.next_with_health(observed, &BTreeSet::new(), alloc_stopping)
    }

    /// [`Self::next`], with the running tasks whose service checks all pass (for
    /// `condition = "healthy"` dependencies; a running task without checks is healthy).
    pub fn next_with_health(
        &self,
        observed: &BTreeMap<String, TaskRun>,
        healthy: &BTreeSet<String>,
        alloc_stopping: bool,
    ) -> Decision {
        let state: Vec<TaskRun> = self
            .tasks
            .iter()
            .map(|t| observed.get(&t.name).copied().unwrap_or_default())
            .collect();
        let healthy: Vec<bool> = self
            .tasks
            .iter()
            .map(|t| !t.has_checks || healthy.contains(&t.name))
            .collect();
        let blocked = self.blocked(&state, &healthy);
        let teardown = self.teardown(&state, &blocked, alloc_stopping);
        let mut decision = Decision::default();

        match teardown {
            None => {
                for (i, t) in self.tasks.iter().enumerate() {
                    if state[i] == TaskRun::NotStarted
                        && !t.role.is_post()
                        && self.deps_met(i, &state, &healthy)
                    {
                        decision.start.push(t.name.clone());
                    }
                }
            }
            Some(why) => self.tear_down(&why, &state, &healthy, &mut decision),
        }

        if decision.start.is_empty() && !state.iter().any(|s| s.is_alive()) {
            decision.outcome = Some(match state.iter().position(|s| *s == TaskRun::Failed) {
                Some(i) => AllocOutcome::Failed {
                    task: self.tasks[i].name.clone(),
                },
                None => AllocOutcome::Complete,
            });
        }
        decision
    }

    /// The teardown's decision: kill what is alive (sidecars only, when the main tasks
    /// are done), then start the post tasks whose turn came: poststop always, postfail
    /// only when a task failed.
    fn tear_down(&self, why: &Teardown, state: &[TaskRun], healthy: &[bool], d: &mut Decision) {
        let reason = match why {
            Teardown::Stopping => Some(KillReason::AllocStopping),
            Teardown::Failed(i) => Some(KillReason::SiblingFailed(self.tasks[*i].name.clone())),
            Teardown::LeaderDead(i) => Some(KillReason::LeaderDead(self.tasks[*i].name.clone())),
            Teardown::MainDone => None,
        };
        for (i, t) in self.tasks.iter().enumerate() {
            if !state[i].is_alive() || t.role.is_post() {
                continue;
            }
            match &reason {
                Some(r) => d.kill.push((t.name.clone(), r.clone())),
                None if t.role.is_sidecar() => {
                    d.kill.push((t.name.clone(), KillReason::MainTasksDone))
                }
                // Ephemeral poststart tasks run to completion.
                None => {}
            }
        }
        let failed = self
            .tasks
            .iter()
            .zip(state)
            .any(|(t, s)| !t.role.is_post() && *s == TaskRun::Failed);
        for (i, t) in self.tasks.iter().enumerate() {
            let turn = match t.role {
                TaskRole::Poststop => true,
                TaskRole::Postfail => failed,
                _ => false,
            };
            if turn && state[i] == TaskRun::NotStarted && self.deps_met(i, state, healthy) {
                d.start.push(t.name.clone());
            }
        }
    }

    /// Whether every incoming edge of task `i` is satisfied.
    fn deps_met(&self, i: usize, state: &[TaskRun], healthy: &[bool]) -> bool {
        self.graph
            .edges_directed(self.nodes[i], Direction::Incoming)
            .all(|e| {
                let j = self.graph[e.source()];
                cond_met(*e.weight(), state[j], healthy[j])
            })
    }

    /// The tasks that have not started and never will in the normal flow: a dependency
    /// ended without reaching its condition, or is itself blocked. Computed in
    /// topological order, so one pass settles chains.
    fn blocked(&self, state: &[TaskRun], healthy: &[bool]) -> Vec<bool> {
        let mut blocked = vec![false; self.tasks.len()];
        for &i in &self.order {
            if state[i] != TaskRun::NotStarted {
                continue;
            }
            blocked[i] = self
                .graph
                .edges_directed(self.nodes[i], Direction::Incoming)
                .any(|e| {
                    let j = self.graph[e.source()];
                    *e.weight() != Cond::Finished
                        && (blocked[j]
                            || (state[j].is_dead() && !cond_met(*e.weight(), state[j], healthy[j])))
                });
        }
        blocked
    }

    fn teardown(
        &self,
        state: &[TaskRun],
        blocked: &[bool],
        alloc_stopping: bool,
    ) -> Option<Teardown> {
        if alloc_stopping {
            return Some(Teardown::Stopping);
        }
        if let Some(i) = state.iter().position(|s| *s == TaskRun::Failed) {
            return Some(Teardown::Failed(i));
        }
        if let Some(l) = self.leader
            && state[l].is_dead()
        {
            return Some(Teardown::LeaderDead(l));
        }
        // Main tasks can never start once an ephemeral prestart task ended unsuccessfully
        // without failing (it was killed): treat the main phase as over.
        let main_blocked = self.tasks.iter().enumerate().any(|(i, t)| {
            t.role == TaskRole::Prestart { sidecar: false }
                && state[i] == TaskRun::Exited { success: false }
        });
        if main_blocked {
            return Some(Teardown::MainDone);
        }
        // The tasks whose end ends the allocation's main phase: the main tasks, or, in a
        // group without any, its ephemeral prestart/poststart tasks.
        let mut main: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| self.tasks[i].role == TaskRole::Main)
            .collect();
        if main.is_empty() {
            main = (0..self.tasks.len())
                .filter(|&i| {
                    let r = self.tasks[i].role;
                    !r.is_post() && r.is_ephemeral()
                })
                .collect();
        }
        if main.iter().all(|&i| state[i].is_dead() || blocked[i]) {
            return Some(Teardown::MainDone);
        }
        None
    }
}

/// Whether a source task in state `src` (`healthy`: its checks pass) satisfies `cond`.
fn cond_met(cond: Cond, src: TaskRun, healthy: bool) -> bool {
    match cond {
        Cond::Succeeded => src == TaskRun::Exited { success: true },
        // A process ran: it runs now, or it already ended.
        Cond::Started => src == TaskRun::Running || src.is_dead(),
        Cond::Healthy => {
            (src == TaskRun::Running && healthy) || src == TaskRun::Exited { success: true }
        }
        // Called only in teardown, where nothing not yet started will start.
        Cond::Finished => !src.is_alive(),
    }
}
