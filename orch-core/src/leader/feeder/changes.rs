//! What a feeder pass reads from the state besides evaluations: the namespaces whose
//! quota room may have grown (Nomad Enterprise's `UnblockQuota`), the node classes to
//! release after CSI changes, and the evaluations a stopped job's ordered groups need
//! (orch's `core::workflow::ordered`).

use std::collections::BTreeSet;

use crate::model::{Allocation, Evaluation, eval_status, job_type, trigger};
use crate::state::{StateStore, csi_table, ns_table};
use crate::workflow::ordered;

/// Namespaces whose quota room may have grown since `last_index`: allocations that
/// ended free use in every namespace sharing their quota; a changed quota specification
/// or namespace may have raised a limit or detached the quota.
pub(super) fn freed_namespaces(
    s: &StateStore,
    ended: &[&Allocation],
    last_index: u64,
) -> BTreeSet<String> {
    let mut out = s.quota_peers(ended.iter().map(|a| a.namespace.as_str()));
    if s.index(ns_table::QUOTAS) > last_index || s.index(ns_table::NAMESPACES) > last_index {
        // Rare (operator writes): every namespace with a quota, and those whose quota
        // was just detached.
        let changed = s
            .namespaces()
            .filter(|n| !n.quota.is_empty() || n.modify_index > last_index)
            .map(|n| n.name.clone());
        out.extend(changed);
    }
    out
}

/// When CSI plugins or volumes changed after `last_index`, the classes to release:
/// evaluations blocked on CSI escape class caching, so releasing the node classes
/// there are frees them (a plugin came back, a volume was registered).
pub(super) fn csi_changed_classes(s: &StateStore, last_index: u64) -> BTreeSet<String> {
    let changed =
        s.index(csi_table::PLUGINS) > last_index || s.index(csi_table::VOLUMES) > last_index;
    if !changed {
        return BTreeSet::new();
    }
    s.nodes().map(|n| n.computed_class.clone()).collect()
}

/// Pending evaluations for the stopped jobs whose ordered groups have their next stop
/// to make, after the allocations changed since `last_index`.
pub(super) fn ordered_stop_evals(
    s: &StateStore,
    ended: &[&Allocation],
    now: i64,
    next_id: &mut dyn FnMut() -> String,
) -> Vec<Evaluation> {
    let jobs = ordered::stops_pending(s, ended.iter().copied());
    jobs.into_iter()
        .map(|(namespace, job_id)| {
            let job = s.job(&namespace, &job_id);
            Evaluation {
                id: next_id(),
                priority: job.map_or(50, |j| j.priority),
                eval_type: job.map_or_else(|| job_type::SERVICE.into(), |j| j.job_type.clone()),
                triggered_by: trigger::JOB_DEREGISTER.into(),
                job_modify_index: job.map_or(0, |j| j.job_modify_index),
                status: eval_status::PENDING.into(),
                create_time: now,
                modify_time: now,
                namespace,
                job_id,
                ..Evaluation::default()
            }
        })
        .collect()
}
