//! The node drainer's decisions (Nomad's `nomad/drainer`): which allocations on draining
//! nodes to mark for migration now, and which drains are complete.
//!
//! Everything is a pure function of the replicated state and the time, so the leader
//! keeps no drain bookkeeping of its own and a new leader continues exactly where the
//! old one stopped. Marking an allocation (`DesiredTransition.Migrate`) is what moves
//! it: the evaluation that goes with the mark lets the reconciler stop it and place its
//! replacement.
//!
//! The rules, after Nomad's drainer and `migrate` block documentation:
//! - **service groups** migrate at most `migrate.max_parallel` at a time: an allocation
//!   of the group (on any node) is *available* when it is live, not marked, and healthy
//!   (its deployment health is `true`, or it has been running without failure for
//!   `migrate.min_healthy_time`). Nomad's rule: mark `available − (count − max_parallel)`
//!   more. Allocations already marked are not available, so a marked allocation whose
//!   replacement is not yet healthy keeps its slot of `max_parallel` taken.
//! - **batch and sysbatch** allocations are never marked before the deadline: they may
//!   finish on their own.
//! - **system** allocations are marked only once every other allocation on the node has
//!   stopped on the client (so node-local helpers such as log shippers outlive the work
//!   they serve), and never with `IgnoreSystemJobs`.
//! - **deadline**: once `ForceDeadline` has passed (at once for `-force`, deadline
//!   −1), every remaining allocation is marked, system ones too unless ignored.
//! - **complete**: when no allocation on the node is live any more (client-terminal, or
//!   stopped before it ever started), except ignored system ones, the drain strategy is
//!   cleared and the node stays ineligible.
//!
//! Health is judged here, from the task states the client reports, rather than by the
//! client: orch's client decides health only for deployments, and a migration needs no
//! more than "running, unrestarted, for `min_healthy_time`" (Nomad's `task_states`
//! check; `checks` is judged the same way, as the client does for deployments).

use std::collections::{BTreeMap, BTreeSet};

use crate::canonical::defaults;
use crate::model::{
    Allocation, DesiredTransition, Evaluation, Job, MigrateStrategy, Node, client_status,
    eval_status, job_type, trigger,
};
use crate::state::{AllocDesiredTransitionUpdate, Command, NodeDrain, StateStore};

/// What the drainer wants committed now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainActions {
    /// Allocations to mark for migration, by `(namespace, job ID)`, in a stable order.
    pub migrate: BTreeMap<(String, String), Vec<String>>,
    /// Nodes whose drain is done.
    pub complete: Vec<String>,
}

impl DrainActions {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.migrate.is_empty() && self.complete.is_empty()
    }
}

fn marked(a: &Allocation) -> bool {
    a.desired_transition.migrate == Some(true)
}

/// The job type an allocation runs (its own version's spec, else the current job's).
fn alloc_type<'a>(s: &'a StateStore, a: &Allocation) -> Option<&'a str> {
    s.alloc_job(a)
        .or_else(|| s.job(&a.namespace, &a.job_id))
        .map(|j| j.job_type.as_str())
}

fn is_system(kind: Option<&str>) -> bool {
    kind == Some(job_type::SYSTEM)
}

/// Gone from the node for good: finished on the client, or stopped by the servers
/// before the client ever ran it (a client never reports on those).
fn gone(a: &Allocation) -> bool {
    a.client_terminal() || (a.server_terminal() && a.client_status == client_status::PENDING)
}

/// Whether `a` counts as healthy for migration at `now` (see the module docs).
pub fn migration_healthy(a: &Allocation, min_healthy_time: i64, now: i64) -> bool {
    if a.terminal() {
        return false;
    }
    if a.deployment_status.as_ref().and_then(|d| d.healthy) == Some(true) {
        return true;
    }
    if a.client_status != client_status::RUNNING || a.task_states.is_empty() {
        return false;
    }
    if a.task_states.values().any(|t| t.failed) {
        return false;
    }
    let running: Vec<_> = a
        .task_states
        .values()
        .filter(|t| t.state == "running")
        .collect();
    !running.is_empty()
        && running.iter().all(|t| {
            let since = t.started_at.0.max(t.last_restart.0);
            since != 0 && since.saturating_add(min_healthy_time.max(0)) <= now
        })
}

fn force_passed(n: &Node, now: i64) -> bool {
    n.drain_strategy
        .as_ref()
        .is_some_and(|d| d.force_deadline.0 != 0 && now >= d.force_deadline.0)
}

/// Decides, for every draining node, what to mark and which drains are complete.
pub fn decide(s: &StateStore, now: i64) -> DrainActions {
    if s.node_table().draining() == 0 {
        return DrainActions::default();
    }
    let draining: BTreeMap<&str, &Node> = s
        .nodes()
        .filter(|n| n.drain_strategy.is_some())
        .map(|n| (n.id.as_str(), n))
        .collect();
    let mut out = DrainActions::default();
    if draining.is_empty() {
        return out;
    }
    let mut mark: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut jobs: BTreeSet<(String, String)> = BTreeSet::new();

    for (id, n) in &draining {
        let forced = force_passed(n, now);
        let ignore_system = n
            .drain_strategy
            .as_ref()
            .is_some_and(|d| d.ignore_system_jobs);
        let allocs = s.allocs_by_node(id);
        let mut others_gone = true;
        let mut system_live = Vec::new();
        for a in &allocs {
            let kind = alloc_type(s, a);
            if is_system(kind) {
                if !ignore_system && !gone(a) {
                    system_live.push(*a);
                }
                continue;
            }
            if !gone(a) {
                others_gone = false;
            }
            if a.terminal() || marked(a) {
                continue;
            }
            if forced {
                mark.insert((a.namespace.to_string(), a.job_id.to_string(), a.id.clone()));
            } else if kind == Some(job_type::SERVICE) {
                jobs.insert((a.namespace.to_string(), a.job_id.to_string()));
            }
        }
        if forced || others_gone {
            for a in &system_live {
                if !a.terminal() && !marked(a) {
                    mark.insert((a.namespace.to_string(), a.job_id.to_string(), a.id.clone()));
                }
            }
        }
        if others_gone && system_live.is_empty() {
            out.complete.push((*id).to_string());
        }
    }

    for (ns, job_id) in &jobs {
        let Some(job) = s.job(ns, job_id) else {
            continue;
        };
        for id in service_marks(s, job, &draining, now) {
            mark.insert((ns.clone(), job_id.clone(), id));
        }
    }
    for (ns, job, id) in mark {
        out.migrate.entry((ns, job)).or_default().push(id);
    }
    out
}

/// The service allocations of `job` on draining nodes to mark now, group by group.
fn service_marks(
    s: &StateStore,
    job: &Job,
    draining: &BTreeMap<&str, &Node>,
    now: i64,
) -> Vec<String> {
    let allocs = s.allocs_by_job(&job.namespace, &job.id);
    let mut out = Vec::new();
    for tg in &job.task_groups {
        let strategy: MigrateStrategy = tg
            .migrate
            .clone()
            .unwrap_or_else(defaults::migrate_strategy);
        let max_parallel = i64::from(strategy.max_parallel.max(1));
        let mut available = 0i64;
        let mut drainable: Vec<&Allocation> = Vec::new();
        for a in allocs.iter().filter(|a| a.task_group == tg.name) {
            if a.terminal() || marked(a) {
                continue;
            }
            if migration_healthy(a, strategy.min_healthy_time, now) {
                available += 1;
            }
            let on_draining = draining
                .get(a.node_id.as_str())
                .is_some_and(|n| !force_passed(n, now));
            if on_draining {
                drainable.push(a);
            }
        }
        let threshold = i64::from(tg.count) - max_parallel;
        let n = (available - threshold).max(0);
        drainable.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        out.extend(
            drainable
                .into_iter()
                .take(usize::try_from(n).unwrap_or(0))
                .map(|a| a.id.clone()),
        );
    }
    out
}

/// The commands carrying out `actions`: one `AllocDesiredTransition` with a `node-drain`
/// evaluation per job, then one `NodeDrain` completion per finished node.
pub fn commands(
    s: &StateStore,
    actions: &DrainActions,
    now: i64,
    next_id: &mut dyn FnMut() -> String,
) -> Vec<Command> {
    let mut out = Vec::new();
    if !actions.migrate.is_empty() {
        let mut transitions = BTreeMap::new();
        let mut evals = Vec::new();
        for ((ns, job_id), ids) in &actions.migrate {
            for id in ids {
                transitions.insert(
                    id.clone(),
                    DesiredTransition {
                        migrate: Some(true),
                        ..DesiredTransition::default()
                    },
                );
            }
            if let Some(job) = s.job(ns, job_id) {
                evals.push(Evaluation {
                    id: next_id(),
                    namespace: ns.clone(),
                    priority: job.priority,
                    eval_type: job.job_type.clone(),
                    triggered_by: trigger::NODE_DRAIN.into(),
                    job_id: job_id.clone(),
                    job_modify_index: job.job_modify_index,
                    status: eval_status::PENDING.into(),
                    create_time: now,
                    modify_time: now,
                    ..Evaluation::default()
                });
            }
        }
        out.push(Command::AllocDesiredTransition(
            AllocDesiredTransitionUpdate { transitions, evals },
        ));
    }
    for node_id in &actions.complete {
        out.push(Command::NodeDrain(NodeDrain {
            node_id: node_id.clone(),
            drain_strategy: None,
            mark_eligible: false,
            drain_complete: true,
            now,
        }));
    }
    out
}

#[cfg(test)]
mod tests;
