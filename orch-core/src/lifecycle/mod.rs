//! What runs when inside one allocation: Nomad's task lifecycle (`prestart`, main,
//! `poststart`, `poststop`, sidecars, the leader), the client's restart policy
//! ([`restart`]) and the task's runtime environment and `${...}` interpolation ([`env`]).
//!
//! Everything here is pure: the client's task runners observe their tasks and ask
//! [`LifecyclePlan::next`] what to do; time arrives as Unix nanoseconds and randomness
//! from a seed.
//!
//! The start dependencies are a petgraph DAG (task → task edges labelled with the
//! condition the source must reach), so arbitrary task dependencies can be added later
//! as more edges. Today the edges are Nomad's hooks:
//!
//! | edge | condition on the source |
//! |---|---|
//! | prestart ephemeral → main | exited successfully |
//! | prestart sidecar → main | started |
//! | main → poststart | started |
//! | every non-poststop task → poststop | finished (dead, or will never start) |
//!
//! On top of the graph sit the allocation-wide rules that stop the normal flow
//! ("teardown"): the server stopping the allocation, a task failing, the leader
//! exiting, all main tasks having exited.
//!
//! Modules: [`restart`] (the restart tracker), [`env`] (environment and interpolation) and
//! `tests` (unit tests of the plan).

pub mod env;
pub use env::{
    InterpolationVars, TaskEnvInput, interpolate, interpolate_json, interpolation_vars, task_env,
};
pub use restart::{RestartDecision, RestartTracker};
pub mod restart;

use std::collections::BTreeMap;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::model::{Task, TaskGroup};

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
            // Nomad ignores `sidecar` on poststop tasks.
            "poststop" => Ok(TaskRole::Poststop),
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
        )
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
        "task {task:?}: unknown lifecycle hook {hook:?} (expected prestart, poststart or poststop)"
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
}

/// The condition an edge's source task must reach before its target may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    /// Exited successfully.
    Succeeded,
    /// Running, or already past running.
    Started,
    /// Dead, or never going to start (only checked during teardown).
    Finished,
}

#[derive(Debug, Clone)]
struct TaskInfo {
    name: String,
    role: TaskRole,
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
        });
    }

    let mut graph = DiGraph::with_capacity(tasks.len(), tasks.len() * 2);
    let nodes: Vec<NodeIndex> = (0..tasks.len()).map(|i| graph.add_node(i)).collect();
    for (to, t) in tasks.iter().enumerate() {
        for (from, f) in tasks.iter().enumerate() {
            if from == to {
                continue;
            }
            let cond = match (f.role, t.role) {
                (TaskRole::Prestart { sidecar: false }, TaskRole::Main) => Some(Cond::Succeeded),
                (TaskRole::Prestart { sidecar: true }, TaskRole::Main) => Some(Cond::Started),
                (TaskRole::Main, TaskRole::Poststart { .. }) => Some(Cond::Started),
                (r, TaskRole::Poststop) if r != TaskRole::Poststop => Some(Cond::Finished),
                _ => None,
            };
            if let Some(cond) = cond {
                graph.add_edge(nodes[from], nodes[to], cond);
            }
        }
    }
    if let Err(cycle) = petgraph::algo::toposort(&graph, None) {
        return Err(LifecycleError::Cycle {
            group: group.name.clone(),
            task: tasks[graph[cycle.node_id()]].name.clone(),
        });
    }
    Ok(LifecyclePlan {
        graph,
        tasks,
        nodes,
        by_name,
        leader,
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

    /// The leader task, if one is marked `leader = true`.
    pub fn leader(&self) -> Option<&str> {
        self.leader.map(|i| self.tasks[i].name.as_str())
    }

    /// Given every task's observed state (absent = `NotStarted`) and whether the server is
    /// stopping the allocation, what to do now. Pure and deterministic.
    pub fn next(&self, observed: &BTreeMap<String, TaskRun>, alloc_stopping: bool) -> Decision {
        let state: Vec<TaskRun> = self
            .tasks
            .iter()
            .map(|t| observed.get(&t.name).copied().unwrap_or_default())
            .collect();
        let teardown = self.teardown(&state, alloc_stopping);
        let mut decision = Decision::default();

        match teardown {
            None => {
                for (i, t) in self.tasks.iter().enumerate() {
                    if state[i] == TaskRun::NotStarted
                        && t.role != TaskRole::Poststop
                        && self.deps_met(i, &state)
                    {
                        decision.start.push(t.name.clone());
                    }
                }
            }
            Some(why) => {
                let reason = match why {
                    Teardown::Stopping => Some(KillReason::AllocStopping),
                    Teardown::Failed(i) => {
                        Some(KillReason::SiblingFailed(self.tasks[i].name.clone()))
                    }
                    Teardown::LeaderDead(i) => {
                        Some(KillReason::LeaderDead(self.tasks[i].name.clone()))
                    }
                    Teardown::MainDone => None,
                };
                for (i, t) in self.tasks.iter().enumerate() {
                    if !state[i].is_alive() || t.role == TaskRole::Poststop {
                        continue;
                    }
                    match &reason {
                        Some(r) => decision.kill.push((t.name.clone(), r.clone())),
                        None if t.role.is_sidecar() => decision
                            .kill
                            .push((t.name.clone(), KillReason::MainTasksDone)),
                        // Ephemeral poststart tasks run to completion.
                        None => {}
                    }
                }
                for (i, t) in self.tasks.iter().enumerate() {
                    if t.role == TaskRole::Poststop
                        && state[i] == TaskRun::NotStarted
                        && self.deps_met(i, &state)
                    {
                        decision.start.push(t.name.clone());
                    }
                }
            }
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

    /// Whether every incoming edge of task `i` is satisfied.
    fn deps_met(&self, i: usize, state: &[TaskRun]) -> bool {
        self.graph
            .edges_directed(self.nodes[i], Direction::Incoming)
            .all(|e| {
                let src = state[self.graph[e.source()]];
                match *e.weight() {
                    Cond::Succeeded => src == TaskRun::Exited { success: true },
                    // A process ran: it runs now, or it already ended.
                    Cond::Started => src == TaskRun::Running || src.is_dead(),
                    // Called only in teardown, where nothing not yet started will start.
                    Cond::Finished => !src.is_alive(),
                }
            })
    }

    fn teardown(&self, state: &[TaskRun], alloc_stopping: bool) -> Option<Teardown> {
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
                    r != TaskRole::Poststop && r.is_ephemeral()
                })
                .collect();
        }
        if main.iter().all(|&i| state[i].is_dead()) {
            return Some(Teardown::MainDone);
        }
        None
    }
}
