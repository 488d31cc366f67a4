//! The placer's preemption half: one given node (system jobs), or the node where
//! evicting lower-priority allocations makes room with the least disruption.

use super::{BEST_FIT_PREEMPT_SAMPLE, Choice, NoFit, Placer, PreemptOption};
use crate::model::{AllocationMetric, TaskGroup, Usage, node_status};
use crate::scheduler::context::PlanContext;
use crate::scheduler::preempt::{
    Holding, HoldingClass, PRIORITY_DELTA, group_holdings, select_grouped,
};
use crate::state::Id;

impl<'a> Placer<'a> {
    /// Tries one specific node (system jobs place on every node): the node if it fits,
    /// else whether it is full (even with preemption) or not feasible at all.
    pub fn select_on(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
        tg: &TaskGroup,
        node_id: &str,
        metrics: &mut AllocationMetric,
    ) -> Result<Choice<'a>, NoFit> {
        self.group_view(ctx, gi, tg);
        let pos = self.position_of(ctx, node_id).ok_or(NoFit::Infeasible)?;
        let exhausted_before = metrics.nodes_exhausted;
        if let Some(score) = self.evaluate(ctx, gi, tg, pos, &[], metrics) {
            return self.choice(pos, score).ok_or(NoFit::Infeasible);
        }
        if metrics.nodes_exhausted == exhausted_before {
            return Err(NoFit::Infeasible);
        }
        if !self.config.preemption.enabled_for(&self.job.job_type) {
            return Err(NoFit::Full);
        }
        let ask = self.ask(gi);
        match (self.preemptions_on(ctx, pos, &ask), self.order.node(pos)) {
            (Some(chosen), Some(node)) if !chosen.is_empty() => Ok(Choice {
                node,
                score: 0.0,
                preempt_held: chosen.iter().map(|(_, _, u)| *u).collect(),
                preempt: chosen.into_iter().map(|(id, _, _)| id).collect(),
                position: pos,
            }),
            _ => Err(NoFit::Full),
        }
    }

    fn ask(&self, gi: usize) -> Usage {
        match self.groups.get(gi) {
            Some(Some(v)) => v.ask,
            _ => Usage::default(),
        }
    }

    /// The allocations to evict on the node at `pos` so `ask` fits, if any set does,
    /// with their priorities and what each holds. Weighs the node's candidate pool
    /// ([`Placer::pool_at`]); the plan's own placements are never candidates (they
    /// are this job's, not 10 priority points lower).
    fn preemptions_on(
        &mut self,
        ctx: &PlanContext<'_>,
        pos: usize,
        ask: &Usage,
    ) -> Option<Vec<(String, i32, Usage)>> {
        let slot = *self.order.slots.get(pos)?;
        let used = ctx.used_at(slot);
        let capacity = *self.order.capacity(pos);
        let job_priority = self.job.priority;
        let pool = self.pool_at(ctx, pos)?;
        let chosen = select_grouped(&capacity, &used, ask, job_priority, pool)?;
        Some(
            chosen
                .iter()
                .map(|h| (h.id.to_string(), h.priority, h.usage))
                .collect(),
        )
    }

    /// The node's allocations that preemption may evict for this job: lower by at
    /// least [`PRIORITY_DELTA`] and not already leaving in the plan. Read from the
    /// node table's live allocations (IDs compared inline) once per node and kept
    /// for the evaluation until the plan changes the node ([`Placer::sync`] drops it),
    /// grouped by priority and usage ([`HoldingClass`]).
    fn pool_at(&mut self, ctx: &PlanContext<'_>, pos: usize) -> Option<&[HoldingClass<'a, Id>]> {
        if !self.preempt_pools.contains_key(&pos) {
            let pool = self.build_pool(ctx, pos)?;
            self.preempt_pools.insert(pos, pool);
        }
        self.preempt_pools.get(&pos).map(Vec::as_slice)
    }

    fn build_pool(&self, ctx: &PlanContext<'_>, pos: usize) -> Option<Vec<HoldingClass<'a, Id>>> {
        let node = self.order.node(pos)?;
        // What the plan already stops, evicts or updates on this node: not candidates
        // (what `PlanContext::is_leaving` says, read from the node's part of the plan).
        let mut leaving: Vec<Id> = ctx
            .plan
            .node_update
            .get(&node.id)
            .into_iter()
            .flatten()
            .map(|s| s.alloc_id.as_str())
            .chain(
                ctx.plan
                    .node_preemptions
                    .get(&node.id)
                    .into_iter()
                    .flatten()
                    .map(|p| p.alloc_id.as_str()),
            )
            // Updated versions of allocations of the state (they replace the stored one).
            .chain(
                ctx.plan
                    .node_allocation
                    .get(&node.id)
                    .into_iter()
                    .flatten()
                    .filter(|a| a.create_index != 0)
                    .map(|a| a.id.as_str()),
            )
            .map(Id::new)
            .collect();
        leaving.sort_unstable();
        let job_priority = self.job.priority;
        let table: &'a crate::state::NodeTable = self.order.table;
        let pool = table
            .live(self.order.slots[pos])
            .iter()
            .map(|l| Holding {
                id: &l.id,
                usage: l.usage,
                priority: l.priority.unwrap_or(job_priority),
            })
            // Allocations of this job (its in-place updates included) never qualify.
            .filter(|h| job_priority - h.priority >= PRIORITY_DELTA)
            .filter(|h| leaving.binary_search(h.id).is_err());
        // Grouped by priority and usage once, for every weighing until the node changes.
        Some(group_holdings(pool))
    }

    /// Finds the feasible node where evicting lower-priority allocations makes room with
    /// the least disruption: fewest evictions, then lowest evicted priorities.
    pub(super) fn select_with_preemption(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
    ) -> Option<Choice<'a>> {
        let ask = self.groups.get(gi)?.as_ref()?.ask;
        let mut best: Option<PreemptOption> = None;
        let mut scratch = AllocationMetric::default();
        // Like Nomad, weigh preemption on a sample of nodes, not the whole cluster: the
        // first `limit` (at least 16) nodes where evicting would make room; under best
        // fit the fullest few, each of which means reading every allocation it holds.
        let sample = if self.config.best_fit() {
            BEST_FIT_PREEMPT_SAMPLE
        } else {
            self.limit.clamp(16, 64)
        };
        let mut options = 0;
        for pos in 0..self.order.len() {
            if options >= sample {
                break;
            }
            // A node where evicting everything eligible was not enough stays so for the
            // evaluation (placements and evictions only take eligible work away).
            if self.groups[gi]
                .as_ref()
                .is_some_and(|v| v.is_unpreemptable(pos))
            {
                continue;
            }
            let Some(node) = self.order.node(pos) else {
                continue;
            };
            if node.status != node_status::READY || !self.feasible(ctx, gi, pos, &mut scratch) {
                continue;
            }
            let Some(chosen) = self.preemptions_on(ctx, pos, &ask) else {
                if let Some(Some(v)) = self.groups.get_mut(gi) {
                    v.mark_unpreemptable(pos);
                }
                continue;
            };
            options += 1;
            let cost = (
                chosen.len(),
                chosen.iter().map(|(_, p, _)| i64::from(*p)).sum::<i64>(),
            );
            if best.as_ref().is_none_or(|(_, _, c)| cost < *c) {
                best = Some((pos, chosen, cost));
            }
        }
        let (pos, chosen, _) = best?;
        let preempt_held = chosen.iter().map(|(_, _, u)| *u).collect();
        let preempt = chosen.into_iter().map(|(id, _, _)| id).collect();
        Some(Choice {
            node: self.order.node(pos)?,
            score: 0.0,
            preempt,
            preempt_held,
            position: pos,
        })
    }
}
