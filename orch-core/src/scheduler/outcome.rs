//! What one scheduler run produces, and the bookkeeping shared by the service/batch and
//! system schedulers: building allocations, recording failures, blocking evaluations.

use std::collections::BTreeMap;

use super::assign;
use super::context::PlanContext;
use super::plan::Plan;
use super::select::{Choice, Placer};
use crate::model::{
    AllocDeploymentStatus, Allocation, AllocationMetric, Evaluation, Job, RescheduleTracker,
    TaskGroup, eval_status, trigger,
};

/// The result of processing one evaluation: a plan to submit, and the evaluation's own
/// new state (plus a blocked evaluation when placements failed for lack of room).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The plan to verify and commit.
    pub plan: Plan,
    /// The evaluation, updated: status, failed placements, queued counts, class eligibility.
    pub eval: Evaluation,
    /// A new blocked evaluation for what could not be placed.
    pub blocked: Option<Evaluation>,
}

/// Why a placement is made, for the new allocation's bookkeeping.
#[derive(Debug, Clone, Default)]
pub struct PlacementSpec {
    /// `job.group[index]`.
    pub name: String,
    /// Allocation replaced.
    pub previous_alloc: Option<String>,
    /// Reschedule history to carry.
    pub reschedule_tracker: Option<RescheduleTracker>,
    /// Deployment the allocation belongs to.
    pub deployment_id: Option<String>,
    /// Placed as a canary.
    pub canary: bool,
}

/// Collects per-group placement failures the way Nomad reports them: the first failure's
/// metrics, later ones of the same group folded in as `CoalescedFailures`.
#[derive(Debug, Default)]
pub struct Failures {
    /// Per group.
    pub by_group: BTreeMap<String, AllocationMetric>,
    /// Unplaced allocations per group.
    pub queued: BTreeMap<String, u64>,
}

impl Failures {
    /// Records one failed placement.
    pub fn record(&mut self, group: &str, metrics: AllocationMetric) {
        // A group that failed once fails every further placement of the evaluation:
        // counted without a key copied per placement.
        match self.queued.get_mut(group) {
            Some(n) => *n += 1,
            None => {
                self.queued.insert(group.to_string(), 1);
            }
        }
        match self.by_group.get_mut(group) {
            Some(m) => m.coalesced_failures += 1,
            None => {
                self.by_group.insert(group.to_string(), metrics);
            }
        }
    }

    /// Whether a group already failed in this evaluation (further placements of it are
    /// coalesced without searching again: nothing changed in between).
    pub fn failed(&self, group: &str) -> bool {
        self.by_group.contains_key(group)
    }
}

/// Builds the allocation for a chosen node, adds it (and any preemptions) to the plan, and
/// tells the placer. Gives the metrics back if the node's ports or devices ran out after
/// all (the placement failed: they go to the failed group).
#[allow(clippy::too_many_arguments)]
pub fn place_on(
    ctx: &mut PlanContext<'_>,
    placer: &mut Placer<'_>,
    job: &Job,
    gi: usize,
    tg: &TaskGroup,
    choice: Choice<'_>,
    spec: PlacementSpec,
    id: String,
    mut metrics: AllocationMetric,
    now: i64,
) -> Result<(), Box<AllocationMetric>> {
    for (victim, held) in choice.preempt.iter().zip(&choice.preempt_held) {
        ctx.preempt_held(victim, &choice.node.id, held, &id);
    }
    let oversubscribe = placer.config().memory_oversubscription;
    let rng = &mut placer.rng;
    let build = || assign::allocate(ctx, choice.node, tg, rng, oversubscribe);
    let Some(resources) = placer.shared.plain_resources(gi, tg, build) else {
        return Err(Box::new(metrics));
    };
    metrics.score_meta_data.clear();
    let slot = placer.slot_at(choice.position).filter(|s| {
        // The choice's position names its node: checked by address, not by ID.
        ctx.state
            .node_table()
            .node_at(*s)
            .is_some_and(|n| std::ptr::eq(n, choice.node))
    });
    let table = ctx.state.node_table();
    let (node_id, node_name) = slot
        .and_then(|s| table.shared_names_at(s))
        .or_else(|| table.shared_names(&choice.node.id))
        .cloned()
        .unwrap_or_else(|| {
            (
                choice.node.id.as_str().into(),
                choice.node.name.as_str().into(),
            )
        });
    // `resume = "from_failure"`: the replacement of a failed allocation keeps the tasks
    // that succeeded there (empty for every other placement).
    let task_states = spec
        .previous_alloc
        .as_deref()
        .filter(|_| !tg.resume.is_empty())
        .and_then(|prev| ctx.state.alloc_stub(prev))
        .map(|prev| crate::lifecycle::resume::carried_states(tg, prev, now))
        .unwrap_or_default();
    let names = &mut placer.shared;
    let alloc = Allocation {
        id,
        namespace: names.namespace.clone(),
        eval_id: names.eval(&ctx.plan.eval_id),
        name: spec.name,
        node_id,
        node_name,
        job_id: names.job_id.clone(),
        job: None,
        task_group: names
            .groups
            .get(gi)
            .cloned()
            .unwrap_or_else(|| tg.name.as_str().into()),
        allocated_resources: resources,
        metrics: Some(metrics),
        desired_status: names.run.clone(),
        client_status: names.pending.clone(),
        deployment_id: spec.deployment_id.unwrap_or_default(),
        deployment_status: spec.canary.then(|| AllocDeploymentStatus {
            canary: true,
            ..Default::default()
        }),
        previous_allocation: spec.previous_alloc.unwrap_or_default(),
        reschedule_tracker: spec.reschedule_tracker,
        preempted_allocations: choice.preempt.clone(),
        create_time: now,
        modify_time: now,
        job_version: job.version,
        task_states,
        ..Allocation::default()
    };
    match slot {
        Some(s) => ctx.place_new_at(alloc, s),
        None => ctx.place_new(alloc),
    }
    placer.record_placement(gi, choice.node, choice.position);
    Ok(())
}

/// Finishes an evaluation: records failures, creates the blocked evaluation if
/// placements failed, and sets the evaluation's final fields.
pub fn finish(
    eval: &Evaluation,
    placer: Option<&Placer<'_>>,
    failures: Failures,
    plan: Plan,
    snapshot_index: u64,
    blocked_id: impl FnOnce() -> String,
    now: i64,
) -> Outcome {
    let mut updated = eval.clone();
    updated.status = eval_status::COMPLETE.into();
    updated.snapshot_index = snapshot_index;
    updated.modify_time = now;
    updated.queued_allocations = failures.queued.clone();
    let mut blocked = None;
    if !failures.by_group.is_empty() {
        let mut b = Evaluation {
            id: blocked_id(),
            namespace: eval.namespace.clone(),
            priority: eval.priority,
            eval_type: eval.eval_type.clone(),
            triggered_by: trigger::QUEUED_ALLOCS.into(),
            job_id: eval.job_id.clone(),
            job_modify_index: eval.job_modify_index,
            status: eval_status::BLOCKED.into(),
            status_description: "created to place remaining allocations".into(),
            previous_eval: eval.id.clone(),
            queued_allocations: failures.queued.clone(),
            failed_tg_allocs: failures.by_group.clone(),
            snapshot_index,
            create_time: now,
            modify_time: now,
            ..Evaluation::default()
        };
        if let Some(p) = placer {
            b.class_eligibility = p.eligibility().class_eligibility();
            b.escaped_computed_class = p.eligibility().escaped_computed_class();
        }
        updated.blocked_eval = b.id.clone();
        blocked = Some(b);
    }
    updated.failed_tg_allocs = failures.by_group;
    if let Some(p) = placer {
        updated.class_eligibility = p.eligibility().class_eligibility();
        updated.escaped_computed_class = p.eligibility().escaped_computed_class();
    }
    Outcome {
        plan,
        eval: updated,
        blocked,
    }
}
