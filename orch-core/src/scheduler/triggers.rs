//! Which evaluations a cluster event calls for. Shared by the simulation harness and the
//! servers so both react to the same events the same way.

use std::collections::BTreeSet;

use crate::model::{Evaluation, eval_status, node_status, trigger};
use crate::state::StateStore;

/// The status a node that missed its heartbeat gets (Nomad's `invalidateHeartbeat`):
/// `disconnected` when any of its live allocations belongs to a group that may wait
/// for it (`disconnect { lost_after }` or `max_client_disconnect`), so the scheduler
/// marks them `unknown` instead of lost; `down` otherwise.
pub fn missed_heartbeat_status(state: &StateStore, node_id: &str) -> &'static str {
    let waits = state.allocs_by_node(node_id).into_iter().any(|a| {
        !a.terminal()
            && state
                .alloc_job(a)
                .and_then(|j| j.group(&a.task_group))
                .is_some_and(|g| g.disconnect_lost_after() > 0)
    });
    if waits {
        node_status::DISCONNECTED
    } else {
        node_status::DOWN
    }
}

/// Evaluations for a node whose status, eligibility or drain changed (Nomad's
/// `createNodeEvals`): one per job with live allocations on the node, plus one per
/// running system and sysbatch job (which may now place on it, or must leave it).
pub fn node_update_evals(
    state: &StateStore,
    node_id: &str,
    now: i64,
    next_id: &mut dyn FnMut() -> String,
) -> Vec<Evaluation> {
    // Borrowed from the store: a failed node's hundred allocations copied no names.
    let mut jobs: BTreeSet<(&str, &str)> = state
        .allocs_by_node(node_id)
        .into_iter()
        .filter(|a| !a.terminal())
        .map(|a| (a.namespace.as_str(), a.job_id.as_str()))
        .collect();
    // Indexed by the store (a scan of every job per failed node cost churn more
    // than the node's own allocations).
    for j in state.system_jobs() {
        jobs.insert((j.namespace.as_str(), j.id.as_str()));
    }
    jobs.into_iter()
        .filter_map(|(ns, id)| state.job(ns, id))
        .map(|job| Evaluation {
            id: next_id(),
            namespace: job.namespace.clone(),
            priority: job.priority,
            eval_type: job.job_type.clone(),
            triggered_by: trigger::NODE_UPDATE.into(),
            job_id: job.id.clone(),
            job_modify_index: job.job_modify_index,
            node_id: node_id.to_string(),
            status: eval_status::PENDING.into(),
            create_time: now,
            modify_time: now,
            ..Evaluation::default()
        })
        .collect()
}
