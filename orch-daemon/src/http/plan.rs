//! `POST /v1/job/:id/plan`: a dry run of the scheduler. The job is registered in a clone
//! of the state and its evaluation processed there; nothing is committed. The plan is
//! summarized as Nomad's `DesiredTGUpdates` annotations; `Diff` is the
//! [`super::job_diff`] from the registered job.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::{Job, trigger};
use orch_core::scheduler::{Outcome, process_eval};
use orch_core::state::{Command, JobRegister, JobRegisterGated, StateStore};
use serde::Serialize;
use serde_json::{Value, json};

use super::jobs::internal;
use super::query::{Query, field, json_body};
use super::{ApiError, ApiState, QueryOpts};

/// Nomad's `DesiredUpdates` for one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DesiredUpdates {
    /// Allocations left as they are.
    pub ignore: u64,
    /// New allocations (including ones that could not be placed yet).
    pub place: u64,
    /// Allocations replaced because their node drains or they were stopped.
    pub migrate: u64,
    /// Allocations stopped.
    pub stop: u64,
    /// Allocations updated without a restart.
    pub in_place_update: u64,
    /// Allocations replaced by a new version.
    pub destructive_update: u64,
    /// Canaries placed.
    pub canary: u64,
    /// Allocations of other jobs evicted.
    pub preemptions: u64,
}

/// Summarizes a scheduler outcome (computed on `state`) per task group of `job`.
pub fn annotate(
    state: &StateStore,
    job: &Job,
    outcome: &Outcome,
) -> BTreeMap<String, DesiredUpdates> {
    let mut by_group: BTreeMap<String, DesiredUpdates> = job
        .task_groups
        .iter()
        .map(|g| (g.name.clone(), DesiredUpdates::default()))
        .collect();
    let plan = &outcome.plan;
    let stopped: BTreeSet<&str> = plan
        .node_update
        .values()
        .flatten()
        .map(|s| s.alloc_id.as_str())
        .collect();
    let mut replaced: BTreeSet<&str> = BTreeSet::new();
    let mut touched: BTreeSet<&str> = BTreeSet::new();
    let mut group_of: BTreeMap<&str, &str> = BTreeMap::new();
    for a in plan.node_allocation.values().flatten() {
        group_of.insert(&a.id, &a.task_group);
        let du = by_group.entry(a.task_group.to_string()).or_default();
        if state.alloc_stub(&a.id).is_some() {
            du.in_place_update += 1;
            touched.insert(&a.id);
            continue;
        }
        let canary = a.deployment_status.as_ref().is_some_and(|d| d.canary);
        let prev = a.previous_allocation.as_str();
        if canary {
            du.canary += 1;
        } else if !prev.is_empty() && stopped.contains(prev) {
            replaced.insert(prev);
            let prev_alloc = state.alloc_stub(prev);
            let migrating = prev_alloc.is_some_and(|p| {
                p.desired_transition.migrate == Some(true) || p.job_version == a.job_version
            });
            if migrating {
                du.migrate += 1;
            } else {
                du.destructive_update += 1;
            }
        } else {
            du.place += 1;
        }
    }
    for stop in plan.node_update.values().flatten() {
        touched.insert(&stop.alloc_id);
        if replaced.contains(stop.alloc_id.as_str()) {
            continue;
        }
        if let Some(a) = state.alloc_stub(&stop.alloc_id) {
            by_group.entry(a.task_group.to_string()).or_default().stop += 1;
        }
    }
    for p in plan.node_preemptions.values().flatten() {
        if let Some(g) = group_of.get(p.preempted_by.as_str()) {
            by_group.entry((*g).to_string()).or_default().preemptions += 1;
        }
    }
    for (group, queued) in &outcome.eval.queued_allocations {
        by_group.entry(group.clone()).or_default().place += queued;
    }
    for a in state.allocs_by_job(&job.namespace, &job.id) {
        if !a.terminal() && !touched.contains(a.id.as_str()) {
            by_group.entry(a.task_group.to_string()).or_default().ignore += 1;
        }
    }
    by_group
}

/// `POST /v1/job/:id/plan`: `{Job, Diff}` → `{Annotations, FailedTGAllocs,
/// JobModifyIndex, Diff, Warnings, NextPeriodicLaunch, ...}`.
pub async fn plan(
    State(api): State<Arc<ApiState>>,
    Path(id): Path<String>,
    Query(raw): super::query::Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let mut body = json_body(&body)?;
    let (job, gates) = super::workflows::body_job_gated(&mut body, &q)?;
    q.authz
        .check(&job.namespace, orch_core::acl::NsCap::SubmitJob)?;
    super::namespaces::check_job_namespace(&api, &job)?;
    super::node_pools::check_job_node_pool(&api, &job)?;
    super::workflows::check_job_cycles(&api, &job)?;
    if job.id != id {
        return Err(ApiError::bad_request(format!(
            "Job ID does not match: the URL names {id:?} but the job's ID is {:?}",
            job.id
        )));
    }
    let want_diff = field::<bool>(&body, "Diff")?.unwrap_or(false);
    let now = (api.now)();
    let mut scratch: StateStore = api.state.read().clone();
    let existing = scratch.job(&job.namespace, &job.id).cloned();
    let diff = want_diff
        .then(|| serde_json::to_value(gated_diff(&scratch, existing.as_ref(), &job, &gates)))
        .transpose()
        .map_err(internal)?;
    let job_modify_index = existing.as_ref().map_or(0, |j| j.job_modify_index);
    let mut eval = api.new_eval(
        &job.namespace,
        &job.id,
        &job.job_type,
        job.priority,
        trigger::JOB_REGISTER,
    );
    eval.annotate_plan = true;
    let eval_id = eval.id.clone();
    let template = job.is_template();
    let planned_periodic = job.periodic.clone();
    let index = scratch.latest_index() + 1;
    // Registered as `PUT /v1/jobs` would (with its gates), so the dry run holds what a
    // shut gate holds, and a change of the gates alone is a new version.
    let registered = scratch
        .apply(
            index,
            Command::JobRegisterGated(JobRegisterGated {
                register: JobRegister {
                    job: job.clone(),
                    eval: (!template).then_some(eval),
                    enforce_index: None,
                    preserve_counts: false,
                    now,
                },
                submission: None,
                gates,
            }),
        )
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut warnings = registered.warnings.clone();
    let mut dry_run = DryRun::default();
    let (annotations, failed) = match scratch.eval(&eval_id).cloned() {
        Some(stored) => {
            let planned = scratch.job(&job.namespace, &job.id).cloned().unwrap_or(job);
            let mut next_id = || api.new_id();
            let config = api
                .scheduler_config
                .with_cluster(&scratch.scheduler_config_for(&stored));
            let outcome = process_eval(&scratch, &stored, &config, index, now, &mut next_id);
            let ann = annotate(&scratch, &planned, &outcome);
            warnings.extend(gate_notes(&scratch, &planned, &ann));
            dry_run = DryRun::of(&scratch, &outcome)?;
            (ann, outcome.eval.failed_tg_allocs)
        }
        None => (BTreeMap::new(), BTreeMap::new()),
    };
    let failed = serde_json::to_value(&failed).map_err(internal)?;
    // Nomad's Job.Plan: the next launch from now for an enabled periodic job, in its
    // time zone; Go's zero time otherwise.
    let next_launch = planned_periodic
        .as_ref()
        .and_then(|p| orch_core::periodic::next_launch(p, now))
        .map_or_else(|| "0001-01-01T00:00:00Z".to_string(), |n| n.rfc3339());
    let body = json!({
        "Annotations": {"DesiredTGUpdates": annotations, "PreemptedAllocs": dry_run.preempted},
        "FailedTGAllocs": if failed.as_object().is_some_and(|o| o.is_empty()) { Value::Null } else { failed },
        "JobModifyIndex": job_modify_index,
        "CreatedEvals": dry_run.created_evals,
        "Diff": diff,
        "Warnings": warnings.join("\n"),
        "NextPeriodicLaunch": next_launch,
        "Index": api.state.latest_index(),
    });
    Ok(api.reply(api.state.latest_index().max(1), &body))
}

/// The diff of the registered version and the planned job, each with its metric gates
/// (the stored jobs carry none), so a change of a gate shows as one.
fn gated_diff(
    s: &StateStore,
    existing: Option<&Job>,
    planned: &Job,
    gates: &orch_core::state::GroupGates,
) -> super::job_diff::JobDiff {
    use orch_core::workflow::gate::{put_gates, put_stored_gates};
    let old = existing.map(|j| {
        let mut j = j.clone();
        put_stored_gates(s, &mut j);
        j
    });
    let mut new = planned.clone();
    put_gates(&mut new, gates);
    super::job_diff::diff_jobs(old.as_ref(), Some(&new))
}

/// The plan's warnings of what metric gates hold (`workflow::gate::plan_note`): per
/// gated group, the batch this plan starts and the allocations left for later ones.
fn gate_notes(
    s: &StateStore,
    planned: &Job,
    ann: &BTreeMap<String, DesiredUpdates>,
) -> Vec<String> {
    ann.iter()
        .filter_map(|(group, du)| {
            let batch = du.destructive_update + du.canary;
            orch_core::workflow::gate::plan_note(s, planned, group, batch, du.ignore)
        })
        .collect()
}

/// What the dry run would do beyond the per-group counts: the allocations it would
/// preempt (as stubs) and the evaluations it would create (the blocked evaluation of
/// what cannot be placed, follow-ups for delayed reschedules). `null` when none, as
/// Nomad's response has it.
#[derive(Default)]
struct DryRun {
    preempted: Value,
    created_evals: Value,
}

impl DryRun {
    fn of(s: &StateStore, outcome: &Outcome) -> Result<DryRun, ApiError> {
        let preempted: Vec<Value> = outcome
            .plan
            .node_preemptions
            .values()
            .flatten()
            .filter_map(|p| s.alloc(&p.alloc_id))
            .map(|a| super::allocs::alloc_stub(s, &a))
            .collect();
        // The evaluations of preempted jobs are the plan applier's in Nomad, not the
        // scheduler's: a dry run does not list them (its preemptions are `Annotations`).
        let created: Vec<&orch_core::model::Evaluation> = outcome
            .blocked
            .iter()
            .chain(outcome.plan.evals.iter())
            .filter(|e| e.triggered_by != orch_core::model::trigger::PREEMPTION)
            .collect();
        let or_null = |v: Value, empty: bool| if empty { Value::Null } else { v };
        Ok(DryRun {
            created_evals: or_null(
                serde_json::to_value(&created).map_err(internal)?,
                created.is_empty(),
            ),
            preempted: if preempted.is_empty() {
                Value::Null
            } else {
                Value::Array(preempted)
            },
        })
    }
}
