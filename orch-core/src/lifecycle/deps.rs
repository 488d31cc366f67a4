//! orch's task dependencies (`lifecycle { depends_on, condition }`): the checks that
//! refuse a group whose dependencies could never be met, and the edges they add to the
//! lifecycle graph beside Nomad's hooks.
//!
//! The checks run twice: at validation (each problem with its field path, so a jobspec
//! is refused before it is registered) and when the client builds the plan (the first
//! problem as an error: an allocation of a job registered by an older orch).

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};

use super::{Cond, TaskRole};
use crate::model::{TaskGroup, dependency_condition, job_type};

/// One problem with a group's task dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyProblem {
    /// Index of the task in the group.
    pub task: usize,
    /// The field of the task's `Lifecycle` at fault: `DependsOn[k]`, `DependsOn`,
    /// `Condition` or `Hook`.
    pub field: String,
    pub message: String,
}

/// The condition a `lifecycle { condition }` names, `None` when unknown.
pub(super) fn cond_of(condition: &str) -> Option<Cond> {
    match condition {
        "" | dependency_condition::SUCCESS => Some(Cond::Succeeded),
        dependency_condition::STARTED => Some(Cond::Started),
        dependency_condition::HEALTHY => Some(Cond::Healthy),
        _ => None,
    }
}

fn is_post(role: TaskRole) -> bool {
    matches!(role, TaskRole::Poststop | TaskRole::Postfail)
}

/// The edge Nomad's hooks put from a task of role `from` to one of role `to`.
pub(super) fn hook_edge(from: TaskRole, to: TaskRole) -> Option<Cond> {
    match (from, to) {
        (TaskRole::Prestart { sidecar: false }, TaskRole::Main) => Some(Cond::Succeeded),
        (TaskRole::Prestart { sidecar: true }, TaskRole::Main) => Some(Cond::Started),
        (TaskRole::Main, TaskRole::Poststart { .. }) => Some(Cond::Started),
        (r, TaskRole::Poststop | TaskRole::Postfail) if !is_post(r) => Some(Cond::Finished),
        _ => None,
    }
}

/// Every problem with the group's `depends_on`/`condition` fields, in task order.
/// `job_type` (when known) refuses a `success` dependency on a task its job restarts
/// after a successful exit. `roles` are the tasks' roles, in the group's order.
pub fn check_dependencies(
    group: &TaskGroup,
    roles: &[TaskRole],
    job_type: Option<&str>,
) -> Vec<DependencyProblem> {
    let mut problems = Vec::new();
    let by_name: BTreeMap<&str, usize> = group
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let restarts_on_success = matches!(job_type, Some(job_type::SERVICE | job_type::SYSTEM));
    for (i, task) in group.tasks.iter().enumerate() {
        let Some(lc) = &task.lifecycle else { continue };
        let mut add = |field: String, message: String| {
            problems.push(DependencyProblem {
                task: i,
                field,
                message,
            })
        };
        if !lc.condition.is_empty() && lc.depends_on.is_empty() {
            add(
                "Condition".into(),
                "condition needs depends_on: name the tasks that must reach it".into(),
            );
        }
        let Some(cond) = cond_of(&lc.condition) else {
            add(
                "Condition".into(),
                format!(
                    "unknown condition {:?}; expected success, started or healthy",
                    lc.condition
                ),
            );
            continue;
        };
        if is_post(roles[i]) && !lc.depends_on.is_empty() {
            add(
                "DependsOn".into(),
                format!(
                    "a {} task already waits for every other task: depends_on is not allowed",
                    lc.hook
                ),
            );
            continue;
        }
        for (k, dep) in lc.depends_on.iter().enumerate() {
            let field = format!("DependsOn[{k}]");
            let Some(&j) = by_name.get(dep.as_str()) else {
                add(field, format!("unknown task {dep:?}"));
                continue;
            };
            if j == i {
                add(field, "a task cannot depend on itself".into());
            } else if lc.depends_on[..k].contains(dep) {
                add(field, format!("task {dep:?} is listed twice"));
            } else if is_post(roles[j]) {
                add(
                    field,
                    format!(
                        "task {dep:?} is a {} task, which runs after every other task ended",
                        group.tasks[j]
                            .lifecycle
                            .as_ref()
                            .map_or("", |l| l.hook.as_str())
                    ),
                );
            } else if cond == Cond::Succeeded && roles[j].is_sidecar() {
                add(
                    field,
                    format!(
                        "task {dep:?} is a sidecar, which never exits successfully while the others run; use condition \"started\" or \"healthy\""
                    ),
                );
            } else if cond == Cond::Succeeded && restarts_on_success && roles[j] == TaskRole::Main {
                add(
                    field,
                    format!(
                        "task {dep:?} is a main task of a {} job, restarted whenever it exits, so it never reaches \"success\"; use condition \"started\" or \"healthy\", or make it a prestart task",
                        job_type.unwrap_or_default()
                    ),
                );
            }
        }
    }
    if problems.is_empty()
        && let Some(p) = cycle(group, roles)
    {
        problems.push(p);
    }
    problems
}

/// Every start edge of the group, hooks first then dependencies, as `(from, to, cond)`.
/// Unknown or malformed dependencies are left out (the checks report them).
pub(super) fn edges(group: &TaskGroup, roles: &[TaskRole]) -> Vec<(usize, usize, Cond)> {
    let mut out = Vec::new();
    for (to, &t) in roles.iter().enumerate() {
        for (from, &f) in roles.iter().enumerate() {
            if from != to
                && let Some(cond) = hook_edge(f, t)
            {
                out.push((from, to, cond));
            }
        }
    }
    for (to, task) in group.tasks.iter().enumerate() {
        let Some(lc) = &task.lifecycle else { continue };
        let Some(cond) = cond_of(&lc.condition) else {
            continue;
        };
        for dep in &lc.depends_on {
            if let Some(from) = group.tasks.iter().position(|t| &t.name == dep)
                && from != to
            {
                out.push((from, to, cond));
            }
        }
    }
    out
}

/// A cycle of the whole start graph (hooks and dependencies), reported on its first
/// task in group order with the path, so the user sees which hook closes it.
fn cycle(group: &TaskGroup, roles: &[TaskRole]) -> Option<DependencyProblem> {
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..roles.len()).map(|i| graph.add_node(i)).collect();
    for (from, to, _) in edges(group, roles) {
        graph.update_edge(nodes[from], nodes[to], ());
    }
    let scc = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut c: Vec<usize> = c.into_iter().map(|n| graph[n]).collect();
            c.sort_unstable();
            c
        })
        .min()?;
    let path = cycle_path(&graph, &nodes, &scc);
    let names: Vec<String> = path
        .iter()
        .map(|&i| format!("{:?}", group.tasks[i].name))
        .collect();
    // Placed on a task that has dependencies: hooks alone never make a cycle.
    let at = scc
        .iter()
        .copied()
        .find(|&i| {
            group.tasks[i]
                .lifecycle
                .as_ref()
                .is_some_and(|l| !l.depends_on.is_empty())
        })
        .unwrap_or(scc[0]);
    Some(DependencyProblem {
        task: at,
        field: "DependsOn".into(),
        message: format!(
            "task dependencies form a cycle: {} (each waits for the next to start; lifecycle hooks order tasks too)",
            names.join(" → ")
        ),
    })
}

/// A closed path through the strongly connected `scc` (sorted task indexes), from its
/// first task back to it, following edges backwards so it reads "waits for".
fn cycle_path(graph: &DiGraph<usize, ()>, nodes: &[NodeIndex], scc: &[usize]) -> Vec<usize> {
    let start = scc[0];
    let mut path = vec![start];
    let mut seen = vec![start];
    let mut at = start;
    // In a strongly connected component every node has a predecessor inside it; walk
    // them until the start (or any seen node, which closes a smaller cycle) comes back.
    for _ in 0..=scc.len() {
        let mut preds: Vec<usize> = graph
            .neighbors_directed(nodes[at], petgraph::Direction::Incoming)
            .map(|n| graph[n])
            .filter(|i| scc.binary_search(i).is_ok())
            .collect();
        preds.sort_unstable();
        let next = preds
            .iter()
            .copied()
            .find(|&p| p == start)
            .or_else(|| preds.iter().copied().find(|p| !seen.contains(p)))
            .or_else(|| preds.first().copied());
        let Some(next) = next else { break };
        path.push(next);
        if seen.contains(&next) {
            break;
        }
        seen.push(next);
        at = next;
    }
    path
}
