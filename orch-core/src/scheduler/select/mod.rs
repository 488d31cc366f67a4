//! Choosing a node for one placement (Nomad's stack): walk the eligible nodes from where
//! the last placement stopped, keep the feasible ones that fit, score them and take the
//! best of the first `limit`. When nothing fits and preemption is on for the job's
//! type, find the node where evicting lower-priority work frees enough.
//!
//! The hot path touches only dense data ([`order::NodeOrder`]): nodes by position,
//! capacity and usage in arrays (refreshed from the plan's touched nodes, never looked
//! up by ID), feasibility answered once per computed class when the group's checks
//! allow it, and no allocation or string comparison per candidate.

mod group;
mod order;
mod posmap;
mod preemption;
mod shared;
mod tally;
#[cfg(test)]
mod tests;
mod walk;

use super::context::PlanContext;
use super::feasible::checkers::FILTER_CLASS_INELIGIBLE;
use super::feasible::{FeasibilityStack, record_evaluated, record_filtered};
use super::rank::{self, SpreadState};
use super::rng::SchedRng;
use crate::model::{AllocationMetric, Job, Node, TaskGroup, Usage, job_type};
use crate::state::{Dense, NO_CLASS};
use group::{ClassAnswer, GroupView};
use order::NodeOrder;
pub use shared::SharedNames;

pub use super::config::{AntiAffinity, FillOrder, PreemptionConfig, SchedulerConfig};
pub use order::fullness;

/// How many scored candidates are enough, as in Nomad: power of two choices for batch,
/// `log2(nodes)` for services.
pub fn candidate_limit(batch: bool, nodes: usize) -> usize {
    if batch || nodes < 2 {
        return 2;
    }
    let log = usize::BITS - (nodes - 1).leading_zeros();
    (log as usize).max(2)
}

/// Candidates scored under orch's best fit: shape matching ([`rank::fit_score_waste`])
/// needs a choice among nodes of different free shapes. Measured on c1m (1,000 nodes,
/// 100,000 allocations): 14 candidates fill to 0.92, 32 to 0.958, 48 to 0.958.
const BEST_FIT_CANDIDATES: usize = 32;

/// A node where preemption makes room: its position, the evictions (ID, priority) and
/// their cost (how many, summed priorities).
type PreemptOption = (usize, Vec<(String, i32, Usage)>, (usize, i64));

/// Nodes weighed for preemption under best fit.
const BEST_FIT_PREEMPT_SAMPLE: usize = 8;

/// Nodes with a negative score are passed over this many times before being used.
const MAX_SKIP: usize = 3;

/// A node chosen for a placement.
pub struct Choice<'n> {
    /// The node.
    pub node: &'n Node,
    /// Its normalized score.
    pub score: f64,
    /// Allocations to evict first (empty unless preempting).
    pub preempt: Vec<String>,
    /// What each allocation of `preempt` holds (the node table's figure), so evicting
    /// it needs no search of the state's allocations.
    pub preempt_held: Vec<Usage>,
    /// The node's position in the placer's order, so recording the placement finds
    /// it without a search by ID.
    pub position: usize,
}

/// Why [`Placer::select_on`] found no room on the node it was asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoFit {
    /// The node could run the group but is full, even with preemption: a failure.
    Full,
    /// The node cannot run the group at all (filtered): not a failure.
    Infeasible,
}

/// Places one job's allocations during one evaluation.
pub struct Placer<'a> {
    job: &'a Job,
    config: &'a SchedulerConfig,
    order: NodeOrder<'a>,
    /// How many of the plan's touched nodes the dense usage already reflects.
    seen_touched: usize,
    cursor: usize,
    feasibility: FeasibilityStack,
    groups: Vec<Option<GroupView>>,
    limit: usize,
    class_count: usize,
    pool: AllocationMetric,
    /// Each weighed node's preemption candidates, by position, until the plan
    /// changes the node.
    preempt_pools:
        std::collections::BTreeMap<usize, Vec<super::preempt::HoldingClass<'a, crate::state::Id>>>,
    /// The candidates the last walk scored, for the next placement of its group.
    window: Option<walk::Window>,
    /// The evaluation's generator: node order and dynamic ports.
    pub rng: SchedRng,
    /// The strings every allocation this placer builds repeats.
    pub shared: SharedNames,
}

impl<'a> Placer<'a> {
    /// Collects the ready nodes in the job's pool and datacenters (fullest first under
    /// best fit, else in a seeded random order) and fills the metric fields that
    /// describe the pool.
    pub fn new(
        job: &'a Job,
        state: &'a crate::state::StateStore,
        config: &'a SchedulerConfig,
        mut rng: SchedRng,
    ) -> Self {
        let order = NodeOrder::build(state, job, config.best_fit(), &mut rng);
        let n = order.len();
        let batch = job.job_type == job_type::BATCH || job.job_type == job_type::SYSBATCH;
        let limit = if config.exhaustive {
            usize::MAX
        } else if config.best_fit() {
            // Shape matching needs a choice: batch work too compares several nodes.
            BEST_FIT_CANDIDATES.max(candidate_limit(false, n))
        } else {
            candidate_limit(batch, n)
        };
        let mut pool = AllocationMetric {
            nodes_in_pool: n as u64,
            ..AllocationMetric::default()
        };
        let table = state.node_table();
        for (dc, &count) in order.per_datacenter().iter().enumerate() {
            if count > 0 {
                pool.nodes_available
                    .insert(table.datacenters()[dc].clone(), count);
            }
        }
        Placer {
            job,
            config,
            order,
            seen_touched: 0,
            cursor: 0,
            feasibility: FeasibilityStack::new(job).with_csi(state, job),
            groups: job.task_groups.iter().map(|_| None).collect(),
            limit,
            class_count: state.node_table().class_count(),
            pool,
            preempt_pools: std::collections::BTreeMap::new(),
            window: None,
            rng,
            shared: SharedNames::new(job),
        }
    }

    /// The eligible nodes, in placement order.
    pub fn nodes(&self) -> impl Iterator<Item = &'a Node> + '_ {
        (0..self.order.len()).filter_map(|pos| self.order.node(pos))
    }

    /// The settings this evaluation is scheduled with.
    pub fn config(&self) -> &'a SchedulerConfig {
        self.config
    }

    /// The node table slot of the node at `position` in the order.
    pub fn slot_at(&self, position: usize) -> Option<u32> {
        self.order.slots.get(position).copied()
    }

    /// Class eligibility and escape, for blocked-evaluation tracking.
    pub fn eligibility(&self) -> &super::feasible::EvalEligibility {
        self.feasibility.eligibility()
    }

    /// Names the allocation about to be placed in group `gi` (`job.group[i]`), for
    /// the checks of `per_alloc` volumes.
    pub fn set_alloc_name(&mut self, gi: usize, alloc_name: &str) {
        self.feasibility.set_alloc_name(gi, alloc_name);
    }

    /// A fresh placement metric with the pool-wide fields filled in.
    pub fn new_metric(&self) -> AllocationMetric {
        self.pool.clone()
    }

    /// Brings the dense usage up to date with what the plan changed since last time;
    /// a node the plan freed room on comes back for every group.
    fn sync(&mut self, ctx: &PlanContext<'_>) {
        let touched = ctx.touched();
        for &slot in &touched[self.seen_touched.min(touched.len())..] {
            let Some(pos) = self.order.position(slot) else {
                continue;
            };
            self.preempt_pools.remove(&pos);
            let now = ctx.used_at(slot);
            let old = self.order.used(pos);
            let freed = now.cpu_mhz < old.cpu_mhz
                || now.memory_mb < old.memory_mb
                || now.disk_mb < old.disk_mb
                || now.cores < old.cores;
            self.order.set_used(pos, now);
            if freed {
                for g in self.groups.iter_mut().flatten() {
                    g.revive(pos);
                }
            }
        }
        self.seen_touched = touched.len();
    }

    fn group_view(&mut self, ctx: &PlanContext<'_>, gi: usize, tg: &TaskGroup) {
        self.sync(ctx);
        if self.groups.get(gi).is_some_and(Option::is_some) {
            return;
        }
        let view = GroupView::new(
            ctx,
            self.job,
            tg,
            &self.order,
            (self.limit, self.config.best_fit()),
            self.feasibility.class_stable(gi),
            self.class_count,
        );
        if gi >= self.groups.len() {
            self.groups.resize_with(gi + 1, || None);
        }
        self.groups[gi] = Some(view);
    }

    /// Records a placement of group `gi` on `node` (at `position` in the order) so
    /// later placements see it.
    pub fn record_placement(&mut self, gi: usize, node: &Node, position: usize) {
        self.feasibility.reset();
        let Some(Some(view)) = self.groups.get_mut(gi) else {
            return;
        };
        view.add_collision(position);
        let dc = self.order.datacenter(position);
        for s in &mut view.spreads {
            s.add(node, dc);
        }
        view.spreads_moved();
    }

    /// Picks a node for one allocation of group `tg` (index `gi` in the job), or `None`
    /// with the reasons recorded in `metrics`.
    pub fn select(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
        tg: &TaskGroup,
        penalty_nodes: &[String],
        preferred: Option<&str>,
        metrics: &mut AllocationMetric,
    ) -> Option<Choice<'a>> {
        self.group_view(ctx, gi, tg);
        if let Some(pos) = preferred.and_then(|p| self.position_of(ctx, p))
            && let Some(score) = self.evaluate(ctx, gi, tg, pos, penalty_nodes, metrics)
        {
            return self.choice(pos, score);
        }
        let reusable = preferred.is_none() && penalty_nodes.is_empty();
        let walked = match self.reuse_window(ctx, gi, tg, metrics, reusable) {
            Some(found) => found,
            None => self.walk(ctx, gi, tg, penalty_nodes, metrics, reusable),
        };
        if let Some((pos, score)) = walked {
            return self.choice(pos, score);
        }
        if self.config.preemption.enabled_for(&self.job.job_type)
            && let Some(choice) = self.select_with_preemption(ctx, gi)
        {
            return Some(choice);
        }
        // Only a failed placement reports the nodes skipped as full (a successful
        // preemption would otherwise pay for a pass over every full node).
        self.record_prefull(gi, metrics);
        None
    }

    fn choice(&self, pos: usize, score: f64) -> Option<Choice<'a>> {
        Some(Choice {
            node: self.order.node(pos)?,
            score,
            preempt: Vec::new(),
            preempt_held: Vec::new(),
            position: pos,
        })
    }

    fn position_of(&self, ctx: &PlanContext<'_>, node_id: &str) -> Option<usize> {
        let _ = ctx;
        let slot = self.order.table.slot(node_id)?;
        self.order.position(slot)
    }

    /// Counts the nodes that were too full to try as exhausted, for a failed placement:
    /// tallied per computed class and dimension from the dense figures alone
    /// ([`tally::ExhaustTally`]), read in slot order, the metric written once per
    /// class. (Positions recorded twice, which the walk does not do, are counted
    /// twice, in order.)
    fn record_prefull(&self, gi: usize, metrics: &mut AllocationMetric) {
        let Some(Some(view)) = self.groups.get(gi) else {
            return;
        };
        let mut tally = tally::ExhaustTally::new(self.class_count);
        let mut count = |tally: &mut tally::ExhaustTally, pos: usize, d: &Dense, used: &Usage| {
            let Some(dim) = tally::first_exceeded(&d.capacity, used, &view.ask) else {
                return;
            };
            if !tally.add(pos, d.class, dim)
                && let Some(node) = self.order.node(pos)
            {
                tally::exhausted_times(metrics, node, tally::DIMENSIONS[dim], 1);
            }
        };
        let (marked, recorded) = view.prefull.bits(self.order.len());
        let distinct: usize = marked.iter().map(|w| w.count_ones() as usize).sum();
        if distinct == recorded {
            self.order
                .for_each_marked_by_slot(&marked, |pos, d, used| count(&mut tally, pos, d, &used));
        } else {
            for pos in view.prefull.iter() {
                let pos = pos as usize;
                let d = self.order.dense_at(pos);
                count(&mut tally, pos, d, &self.order.used(pos));
            }
        }
        metrics.nodes_evaluated += recorded as u64;
        tally.flush(metrics, |pos| self.order.node(pos));
    }

    /// Feasibility, fit and score of the node at `pos`; `None` when it cannot take the
    /// allocation (the reason goes to `metrics`).
    fn evaluate(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
        tg: &TaskGroup,
        pos: usize,
        penalty_nodes: &[String],
        metrics: &mut AllocationMetric,
    ) -> Option<f64> {
        self.evaluate_scored(ctx, gi, tg, pos, penalty_nodes, metrics)
            .map(|s| s.score)
    }

    /// [`Self::evaluate`] with the score's parts, so a walk's candidates can be
    /// re-scored when only the group's spread counts moved.
    fn evaluate_scored(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
        tg: &TaskGroup,
        pos: usize,
        penalty_nodes: &[String],
        metrics: &mut AllocationMetric,
    ) -> Option<Scored> {
        if !self.feasible(ctx, gi, pos, metrics) {
            return None;
        }
        let node = self.order.node(pos)?;
        let view = self.groups.get(gi)?.as_ref()?;
        let (cap, used) = (self.order.capacity(pos), self.order.used(pos));
        if let Err(dim) = cap.fits(&used, &view.ask) {
            exhausted(metrics, node, dim);
            return None;
        }
        if view.extras
            && let Err(dim) = super::assign::check_extras(ctx, node, tg)
        {
            exhausted(metrics, node, &dim);
            return None;
        }
        Some(self.scored(view, pos, node, penalty_nodes))
    }

    /// The feasibility stack's answer for the node at `pos`, remembered per computed
    /// class when the group's checks are all class-stable.
    fn feasible(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
        pos: usize,
        metrics: &mut AllocationMetric,
    ) -> bool {
        let class = self.order.class(pos);
        let (Some(node), Some(Some(view))) = (self.order.node(pos), self.groups.get_mut(gi)) else {
            return false;
        };
        let cacheable = view.class_stable && class != NO_CLASS;
        let known = if cacheable {
            view.classes
                .get(class as usize)
                .copied()
                .unwrap_or(ClassAnswer::Unknown)
        } else {
            ClassAnswer::Unknown
        };
        match known {
            ClassAnswer::Feasible => {
                record_evaluated(metrics);
                true
            }
            ClassAnswer::Infeasible => {
                record_evaluated(metrics);
                record_filtered(metrics, node, FILTER_CLASS_INELIGIBLE);
                false
            }
            ClassAnswer::Unknown => {
                let number = Some(class).filter(|c| *c != NO_CLASS);
                let ok = self
                    .feasibility
                    .check_and_record(gi, node, number, ctx, metrics);
                if cacheable && let Some(c) = view.classes.get_mut(class as usize) {
                    *c = if ok {
                        ClassAnswer::Feasible
                    } else {
                        ClassAnswer::Infeasible
                    };
                }
                ok
            }
        }
    }

    /// The normalized score of a node that fits (fit, job anti-affinity, reschedule
    /// penalty, affinities and spreads, averaged over the scorers that apply), with
    /// its parts: the spreads' score is added last, so the same node scored again
    /// after a placement moved only the spread counts is [`Scored::rescore`] of the
    /// same parts.
    fn scored(
        &self,
        view: &GroupView,
        pos: usize,
        node: &Node,
        penalty_nodes: &[String],
    ) -> Scored {
        let (cap, used) = (self.order.capacity(pos), &self.order.used(pos));
        let (mut sum, mut count) = (0.0, 0usize);
        let mut add = |s: Option<f64>| {
            if let Some(s) = s {
                sum += s;
                count += 1;
            }
        };
        add(Some(if self.config.best_fit() {
            rank::fit_score_waste(cap, used, &view.ask)
        } else {
            let mut after = *used;
            after.add(&view.ask);
            rank::fit_score(self.config.algorithm, cap, &after)
        }));
        let collisions = view.collisions(pos);
        add(match self.config.anti_affinity {
            // Below the free share the balanced penalty is nothing: no call needed.
            AntiAffinity::Balanced if collisions < view.free_collisions => None,
            AntiAffinity::Balanced => rank::job_anti_affinity_balanced(collisions, view.count),
            AntiAffinity::Nomad => rank::job_anti_affinity(collisions, view.count),
        });
        if !penalty_nodes.is_empty() {
            add(rank::reschedule_penalty(penalty_nodes.contains(&node.id)));
        }
        if !view.affinities.is_empty() {
            add(rank::affinity_score(
                view.affinities.iter().map(|(c, w)| (*w, c.matches(node))),
            ));
        }
        if !view.device_affinities.is_empty() {
            add(crate::scheduler::devices::affinity_score(
                node,
                &view.device_affinities,
            ));
        }
        let dc = self.order.datacenter(pos);
        let base = Scored {
            pos,
            dc,
            sum,
            count: count as u32,
            score: 0.0,
        };
        base.rescore(self.spread_part(view, dc, node))
    }

    /// The spreads' score of a node in interned datacenter `dc` (`node` read only
    /// when some spread is not an even one over datacenters). Even datacenter
    /// spreads are scored once per datacenter until the next placement of the group.
    fn spread_part(&self, view: &GroupView, dc: u32, node: &Node) -> Option<f64> {
        if view.spreads.is_empty() {
            return None;
        }
        if let Some(memo) = view.dc_spread.get(dc as usize) {
            if let Some(known) = memo.get() {
                return known;
            }
            let fresh = spread_by_datacenter(view, dc).unwrap_or_else(|| spread(view, node));
            memo.set(Some(fresh));
            return fresh;
        }
        match spread_by_datacenter(view, dc) {
            Some(fast) => fast,
            None => spread(view, node),
        }
    }
}

/// A scored node: its position, its interned datacenter, the sum and count of every
/// score but the spreads' (added last), and the normalized score.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scored {
    pub pos: usize,
    pub dc: u32,
    sum: f64,
    count: u32,
    pub score: f64,
}

impl Scored {
    /// The normalized score with `spread` as the spreads' score: what
    /// [`Placer::scored`] computes, the same operations in the same order.
    fn rescore(mut self, spread: Option<f64>) -> Scored {
        let (mut sum, mut count) = (self.sum, self.count as usize);
        if let Some(s) = spread {
            sum += s;
            count += 1;
        }
        self.score = if count == 0 { 0.0 } else { sum / count as f64 };
        self
    }
}

/// The spread score of a node in interned datacenter `dc`, when every spread of the
/// group is an even one over datacenters (`None` otherwise).
fn spread_by_datacenter(view: &GroupView, dc: u32) -> Option<Option<f64>> {
    if !view.spreads.iter().all(|s| s.by_dc.is_some()) {
        return None;
    }
    let dense = view
        .spreads
        .iter()
        .filter_map(|s| Some((s.weight, s.by_dc.as_deref()?)));
    Some(rank::even_spread_dense(dense, dc as usize))
}

/// The spread score of `node` for the group, without allocating.
fn spread(view: &GroupView, node: &Node) -> Option<f64> {
    let states = view.spreads.iter().map(|s| SpreadState {
        weight: s.weight,
        targets: &s.targets,
        counts: &s.counts,
        desired_count: view.count,
    });
    rank::spread_score(states, |i| view.spreads.get(i)?.attribute.resolve(node))
}

/// Counts a feasible node that lacked room, by dimension and class.
pub fn exhausted(metrics: &mut AllocationMetric, node: &Node, dim: &str) {
    tally::exhausted_times(metrics, node, dim, 1);
}
