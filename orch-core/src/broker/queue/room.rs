//! Whether a woken evaluation could use the room the cluster has now: a cheap necessary
//! condition checked before it is let out, so the queue does not spend a scheduling
//! round on every waiting job each time one slot frees up (and a job that cannot fit
//! does not hold the release slot while a capacity change passes it by).

use crate::model::{Evaluation, Usage};
use crate::scheduler::SchedulerConfig;
use crate::state::StateStore;

/// Free CPU, memory and disk of each schedulable node, as the state holds them now.
#[derive(Debug, Clone, Default)]
pub struct Room {
    free: Vec<Usage>,
}

impl Room {
    /// The free room of every schedulable node (capacity minus its live allocations).
    pub fn from_state(s: &StateStore) -> Room {
        let free = s
            .nodes()
            .filter(|n| n.is_schedulable())
            .map(|n| {
                // The node table's running total of its live allocations' usage: the
                // same sum, without visiting each allocation.
                let mut free = n.capacity();
                free.sub(&s.node_usage(&n.id));
                free
            })
            .collect();
        Room { free }
    }

    /// False only when `eval` cannot place anything now for lack of room: every group
    /// it failed to place ran out of resources (not a quota, not constraints), its job
    /// type may not preempt, and no node has the CPU, memory and disk of one allocation
    /// of any of those groups free. Anything it cannot judge counts as a fit, so the
    /// scheduler decides.
    pub fn may_fit(&self, s: &StateStore, eval: &Evaluation) -> bool {
        if eval.failed_tg_allocs.is_empty() {
            return true;
        }
        let config = SchedulerConfig::default().with_cluster(&s.scheduler_config_for(eval));
        if config.preemption.enabled_for(&eval.eval_type) {
            return true;
        }
        let Some(job) = s.job(&eval.namespace, &eval.job_id) else {
            return true;
        };
        eval.failed_tg_allocs.iter().any(|(group, m)| {
            let resources_only = m.quota_exhausted.is_empty()
                && (m.nodes_exhausted > 0 || !m.dimension_exhausted.is_empty());
            if !resources_only {
                return true;
            }
            let Some(tg) = job.task_groups.iter().find(|g| &g.name == group) else {
                return true;
            };
            let ask = tg.ask();
            self.free
                .iter()
                .any(|f| f.fits(&Usage::default(), &ask).is_ok())
        })
    }
}
