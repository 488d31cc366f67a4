//! Operations on an existing job: scaling (status and writes), forced evaluation,
//! revert and stability (dispatch and periodic force are in `http::dispatch`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::{
    DesiredTransition, Evaluation, FreeForm, client_status, eval_status, trigger,
};
use orch_core::state::{
    AllocDesiredTransitionUpdate, Command, EvalUpsert, JobRevert, JobScale, JobStability,
};
use serde_json::{Value, json};

use super::jobs::{find_job, get_ci, summary_index};
use super::query::{Query, field, json_body, write_reply};
use super::{ApiError, ApiState, QueryOpts};

use super::query::{Api, Params};
/// `GET /v1/job/:id/scale`: Nomad's `JobScaleStatus`.
pub async fn scale_status(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, summary_index).await;
    let body = {
        let s = api.state.read();
        let job = find_job(&s, &q, &id)?;
        let allocs = s.allocs_by_job(&job.namespace, &job.id);
        let mut groups = serde_json::Map::new();
        for g in &job.task_groups {
            let mine: Vec<_> = allocs
                .iter()
                .filter(|a| a.task_group == g.name && a.job_version == job.version && !a.terminal())
                .collect();
            let health = |want: bool| {
                mine.iter()
                    .filter(|a| {
                        a.deployment_status
                            .as_ref()
                            .and_then(|d| d.healthy)
                            .is_some_and(|h| h == want)
                    })
                    .count()
            };
            let running = mine
                .iter()
                .filter(|a| a.client_status == client_status::RUNNING)
                .count();
            groups.insert(
                g.name.clone(),
                json!({"Desired": g.count, "Placed": mine.len(), "Running": running,
                       "Healthy": health(true), "Unhealthy": health(false),
                       "Events": super::scaling::group_events(&s, job, &g.name)}),
            );
        }
        json!({
            "JobID": job.id, "Namespace": job.namespace, "JobCreateIndex": job.create_index,
            "JobModifyIndex": job.job_modify_index, "JobStopped": job.stop, "TaskGroups": groups,
        })
    };
    Ok(api.reply(index, &body))
}

/// `POST /v1/job/:id/scale`: `{Count, Target: {Group}, Message}` as a `JobScale` command
/// with its evaluation.
pub async fn scale(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    super::scheduler_config::check_registration_allowed(&api, &q.authz)?;
    let body = json_body(&body)?;
    let target: BTreeMap<String, String> = field(&body, "Target")?.unwrap_or_default();
    let group = target.get("Group").cloned().ok_or_else(|| {
        ApiError::bad_request("missing task group name for scaling action: set Target.Group")
    })?;
    let error: bool = field(&body, "Error")?.unwrap_or(false);
    let meta: FreeForm = field(&body, "Meta")?.unwrap_or_default();
    let count: Option<i64> = field(&body, "Count")?;
    let count = match (count, error) {
        (Some(c), _) => c,
        (None, true) => 0, // An error report only: the count is not changed.
        (None, false) => {
            return Err(ApiError::bad_request(
                "Count is required unless Error is true (an error report without a new count)",
            ));
        }
    };
    let message: String = field(&body, "Message")?.unwrap_or_default();
    let eval = if error {
        None
    } else {
        Some(job_eval(&api, &q, &id, trigger::JOB_SCALING)?)
    };
    let cmd = Command::JobScale(JobScale {
        namespace: q.ns().to_string(),
        job_id: id,
        group,
        count,
        message,
        error,
        meta,
        eval,
        now: (api.now)(),
    });
    write_reply(&api, cmd).await
}

/// A new evaluation of the job `id`, with the job's type and priority; the job's 404 when
/// it does not exist.
fn job_eval(
    api: &ApiState,
    q: &QueryOpts,
    id: &str,
    triggered_by: &str,
) -> Result<Evaluation, ApiError> {
    let (job_type, priority) = {
        let s = api.state.read();
        let j = find_job(&s, q, id)?;
        (j.job_type.clone(), j.priority)
    };
    Ok(api.new_eval(q.ns(), id, &job_type, priority, triggered_by))
}

/// `POST /v1/job/:id/evaluate`: a new evaluation of the job.
pub async fn evaluate(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    let force = get_ci(&body, "EvalOptions")
        .and_then(|o| get_ci(o, "ForceReschedule"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (mut eval, failed, job_modify_index) = {
        let s = api.state.read();
        let j = find_job(&s, &q, &id)?;
        if j.is_template() {
            return Err(ApiError::bad_request(
                "can't evaluate periodic or parameterized job: evaluate its child jobs instead",
            ));
        }
        let mut e = api.new_eval(q.ns(), &id, &j.job_type, j.priority, trigger::JOB_REGISTER);
        e.job_modify_index = j.job_modify_index;
        // Nomad's ForceReschedule: every failed allocation of the job is rescheduled now,
        // whatever its reschedule policy's attempts and delay say.
        let failed: Vec<String> = if force {
            s.allocs_by_job(q.ns(), &id)
                .into_iter()
                .filter(|a| {
                    a.client_status == client_status::FAILED && a.next_allocation.is_empty()
                })
                .map(|a| a.id.to_string())
                .collect()
        } else {
            Vec::new()
        };
        (e, failed, j.modify_index)
    };
    eval.status = eval_status::PENDING.into();
    let eval_id = eval.id.clone();
    let cmd = if failed.is_empty() {
        Command::EvalUpsert(EvalUpsert { evals: vec![eval] })
    } else {
        let forced = DesiredTransition {
            force_reschedule: Some(true),
            ..DesiredTransition::default()
        };
        Command::AllocDesiredTransition(AllocDesiredTransitionUpdate {
            transitions: failed.into_iter().map(|id| (id, forced.clone())).collect(),
            evals: vec![eval],
        })
    };
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(
        r.index,
        // Nomad answers the job's `ModifyIndex` as `JobModifyIndex`.
        &json!({"EvalID": eval_id, "EvalCreateIndex": r.index, "JobModifyIndex": job_modify_index,
                "Warnings": "", "Index": r.index, "LastContact": api.last_contact_ms(),
                "KnownLeader": api.known_leader()}),
    ))
}

/// `POST /v1/job/:id/revert`: `{JobVersion, EnforcePriorVersion}`.
pub async fn revert(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    let version: u64 = field(&body, "JobVersion")?
        .ok_or_else(|| ApiError::bad_request("JobVersion is required: the version to revert to"))?;
    let enforce: Option<u64> = field(&body, "EnforcePriorVersion")?;
    let eval = job_eval(&api, &q, &id, trigger::JOB_REGISTER)?;
    let cmd = Command::JobRevert(JobRevert {
        namespace: q.ns().to_string(),
        job_id: id,
        version,
        enforce_prior_version: enforce,
        eval: Some(eval),
        now: (api.now)(),
    });
    write_reply(&api, cmd).await
}

/// `POST /v1/job/:id/stable`: `{JobVersion, Stable}`.
pub async fn stable(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    let version: u64 = field(&body, "JobVersion")?
        .ok_or_else(|| ApiError::bad_request("JobVersion is required: the version to mark"))?;
    let stable: bool = field(&body, "Stable")?.unwrap_or(false);
    let r = api
        .replicator
        .propose(Command::JobStability(JobStability {
            namespace: q.ns().to_string(),
            job_id: id,
            version,
            stable,
        }))
        .await?;
    Ok(api.reply(r.index, &json!({"Index": r.index})))
}
