//! `/v1/allocations`, `/v1/allocation/:id` (read, stop) and the allocation stub the
//! other list endpoints share.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::{Allocation, DesiredTransition, trigger};
use orch_core::state::{AllocDesiredTransitionUpdate, Command, StateStore, table};
use serde_json::{Value, json};

use super::{ApiError, QueryOpts};

use super::query::{Api, Params, Query};
use orch_core::acl::NsCap;

/// Nomad's `AllocListStub`.
pub fn alloc_stub(s: &StateStore, a: &Allocation) -> Value {
    let job = s.alloc_job(a);
    json!({
        "ID": a.id,
        "EvalID": a.eval_id,
        "Name": a.name,
        "Namespace": a.namespace,
        "NodeID": a.node_id,
        "NodeName": a.node_name,
        "JobID": a.job_id,
        "JobType": job.map(|j| j.job_type.as_str()).unwrap_or_default(),
        "JobVersion": a.job_version,
        "TaskGroup": a.task_group,
        "DesiredStatus": a.desired_status,
        "DesiredDescription": a.desired_description,
        "DesiredTransition": a.desired_transition,
        "ClientStatus": a.client_status,
        "ClientDescription": a.client_description,
        "TaskStates": a.task_states,
        "DeploymentStatus": a.deployment_status,
        "FollowupEvalID": a.followup_eval_id,
        "NextAllocation": a.next_allocation,
        "RescheduleTracker": a.reschedule_tracker,
        "PreemptedAllocations": a.preempted_allocations,
        "PreemptedByAllocation": a.preempted_by_allocation,
        "CreateIndex": a.create_index,
        "ModifyIndex": a.modify_index,
        "CreateTime": a.create_time,
        "ModifyTime": a.modify_time,
    })
}

pub(super) fn allocs_index(s: &StateStore) -> u64 {
    s.index(table::ALLOCS)
}

/// `GET /v1/allocations`: stubs, `prefix` on the ID, `namespace` (`*` for all);
/// Nomad's `resources=true` adds each one's `AllocatedResources` (what the web UI's
/// topology page draws), `task_states=false` leaves out the `TaskStates`.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let (q, list) = super::list::ListOpts::parse(raw)?;
    let resources = q.flag("resources")?;
    let task_states = !q.raw.contains_key("task_states") || q.flag("task_states")?;
    let index = api.block(&q, allocs_index).await;
    let (body, next) = {
        let s = api.state.read();
        list.page_by_id(
            s.allocs()
                .filter(|a| q.sees(&a.namespace) && a.id.starts_with(&q.prefix))
                .map(|a| {
                    let mut stub = alloc_stub(&s, a);
                    if resources {
                        stub["AllocatedResources"] =
                            serde_json::to_value(&a.allocated_resources).unwrap_or(Value::Null);
                    }
                    if !task_states {
                        stub["TaskStates"] = Value::Null;
                    }
                    (a.id.clone(), stub)
                }),
        )
    };
    Ok(super::list::reply(&api, index, &body, next))
}

/// `GET /v1/allocation/:id`: the full allocation with its job.
pub async fn get_alloc(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, allocs_index).await;
    let alloc = api
        .state
        .read()
        .alloc(&id)
        .ok_or_else(|| ApiError::not_found("alloc not found"))?;
    q.authz.check(&alloc.namespace, NsCap::ReadJob)?;
    Ok(api.reply(index, &alloc))
}

/// `POST /v1/allocation/:id/stop`: marks the allocation for migration and creates the
/// evaluation that replaces it, as `nomad alloc stop` does.
pub async fn stop(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let no_shutdown_delay = q.flag("no_shutdown_delay")?;
    let eval = {
        let s = api.state.read();
        let a = s
            .alloc_stub(&id)
            .ok_or_else(|| ApiError::not_found("alloc not found"))?;
        q.authz.check(&a.namespace, NsCap::AllocLifecycle)?;
        let (job_type, priority) = s
            .alloc_job(a)
            .map(|j| (j.job_type.clone(), j.priority))
            .unwrap_or_else(|| ("service".into(), 50));
        let mut e = api.new_eval(
            &a.namespace,
            &a.job_id,
            &job_type,
            priority,
            trigger::ALLOC_STOP,
        );
        if let Some(j) = s.job(&a.namespace, &a.job_id) {
            e.job_modify_index = j.job_modify_index;
        }
        e
    };
    let eval_id = eval.id.clone();
    let transition = DesiredTransition {
        migrate: Some(true),
        no_shutdown_delay: no_shutdown_delay.then_some(true),
        ..DesiredTransition::default()
    };
    let r = api
        .replicator
        .propose(Command::AllocDesiredTransition(
            AllocDesiredTransitionUpdate {
                transitions: BTreeMap::from([(id, transition)]),
                evals: vec![eval],
            },
        ))
        .await?;
    Ok(api.reply(r.index, &json!({"EvalID": eval_id, "Index": r.index})))
}
