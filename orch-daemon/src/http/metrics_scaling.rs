//! The cluster-scaling signal and the autoscaler's health in `/v1/metrics`:
//!
//! | gauge (Prometheus name) | labels | meaning |
//! |---|---|---|
//! | `nomad.nomad.blocked_evals.job.blocked` (`nomad_nomad_blocked_evals_job_blocked`) | namespace, job | blocked evaluations of the job (0 or 1: one per job) |
//! | `nomad.nomad.blocked_evals.job.unplaced` (`nomad_nomad_blocked_evals_job_unplaced`) | namespace, job, task_group | allocations still waiting for capacity |
//! | `orch.autoscaler.policy.healthy` | policy_id, namespace, job, task_group | 1 when the last evaluation's sources all answered |
//! | `orch.autoscaler.policy.errors` / `.actions` | same | failed evaluations / scaling actions since this server became leader |
//!
//! Computed from the replicated state (blocked evaluations), so every server reports the
//! same cluster signal; the autoscaler gauges only on the leader.

use std::collections::BTreeMap;

use orch_core::autoscale::policy_id;
use orch_core::broker::unplaced_of;
use orch_core::model::eval_status;
use orch_core::state::StateStore;

use super::ApiState;

use super::metrics::Gauge;

/// Appends the per-job blocked/unplaced gauges and the autoscaler's per-policy gauges.
pub fn gauges(api: &ApiState, s: &StateStore, out: &mut Vec<Gauge>) {
    let mut blocked: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut unplaced: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for e in s.evals().filter(|e| e.status == eval_status::BLOCKED) {
        *blocked
            .entry((e.namespace.clone(), e.job_id.clone()))
            .or_default() += 1;
        for (g, n) in unplaced_of(e) {
            *unplaced
                .entry((e.namespace.clone(), e.job_id.clone(), g))
                .or_default() += n;
        }
    }
    for ((ns, job), n) in blocked {
        out.push((
            "nomad.nomad.blocked_evals.job.blocked",
            vec![("namespace", ns), ("job", job)],
            n as f64,
        ));
    }
    for ((ns, job, g), n) in unplaced {
        out.push((
            "nomad.nomad.blocked_evals.job.unplaced",
            vec![("namespace", ns), ("job", job), ("task_group", g)],
            n as f64,
        ));
    }
    let Some(leader) = api.leader.as_ref().filter(|_| api.replicator.is_leader()) else {
        return;
    };
    let statuses = leader.autoscaler.statuses();
    let mut rows = Vec::new();
    for j in s.jobs() {
        for g in &j.task_groups {
            let id = policy_id(&j.namespace, &j.id, &g.name);
            if let Some(st) = statuses.get(&id) {
                let labels = vec![
                    ("policy_id", id.clone()),
                    ("namespace", j.namespace.clone()),
                    ("job", j.id.clone()),
                    ("task_group", g.name.clone()),
                ];
                rows.push((labels, st.clone()));
            }
        }
    }
    for (name, f) in [
        (
            "orch.autoscaler.policy.healthy",
            (|st| if st.last_error.is_none() { 1.0 } else { 0.0 })
                as fn(&crate::server::autoscaler::PolicyStatus) -> f64,
        ),
        ("orch.autoscaler.policy.errors", |st| st.errors_total as f64),
        ("orch.autoscaler.policy.actions", |st| {
            st.actions_total as f64
        }),
    ] {
        for (labels, st) in &rows {
            out.push((name, labels.clone(), f(st)));
        }
    }
}
