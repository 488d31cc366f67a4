//! `/v1/deployments` and `/v1/deployment/...`: reads, and the operator's writes
//! (promote, fail, pause/resume, manual allocation health), answered as Nomad's
//! `DeploymentUpdateResponse`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::model::{Deployment, deployment_status};
use orch_core::scheduler::reconcile::deployment_describe;
use orch_core::state::{
    Command, DeploymentAllocHealth, DeploymentPromote, DeploymentStatusUpdate, StateStore, table,
};
use serde_json::json;

use super::auth::Authz;
use super::query::{Api, Params, Query, field, json_body};
use super::{ApiError, ApiState, QueryOpts};
use crate::server::deployment_watcher::{self, describe};
use orch_core::acl::NsCap;

fn deployments_index(s: &StateStore) -> u64 {
    s.index(table::DEPLOYMENTS)
}

/// `GET /v1/deployments`: full deployments, `prefix` on the ID, `namespace` (`*` all).
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let (q, list) = super::list::ListOpts::parse(raw)?;
    let index = api.block(&q, deployments_index).await;
    let (body, next) = list.page_by_id(
        api.state
            .read()
            .deployments()
            .filter(|d| q.sees(&d.namespace) && d.id.starts_with(&q.prefix))
            .map(|d| (d.id.clone(), deployment_json(d))),
    );
    Ok(super::list::reply(&api, index, &body, next))
}

fn deployment_json(d: &Deployment) -> serde_json::Value {
    serde_json::to_value(d).unwrap_or(serde_json::Value::Null)
}

/// `GET /v1/deployment/:id`.
pub async fn get_deployment(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, deployments_index).await;
    let d = api
        .state
        .read()
        .deployment(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("deployment not found"))?;
    q.authz.check(&d.namespace, NsCap::ReadJob)?;
    Ok(api.reply(index, &d))
}

/// `GET /v1/deployment/allocations/:id`: stubs of the deployment's allocations.
pub async fn allocations(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, |s| s.index(table::ALLOCS)).await;
    let body = {
        let s = api.state.read();
        let d = s
            .deployment(&id)
            .ok_or_else(|| ApiError::not_found("deployment not found"))?;
        q.authz.check(&d.namespace, NsCap::ReadJob)?;
        s.allocs_by_job(&d.namespace, &d.job_id)
            .into_iter()
            .filter(|a| a.deployment_id == id)
            .map(|a| super::allocs::alloc_stub(&s, a))
            .collect::<Vec<_>>()
    };
    Ok(api.reply(index, &body))
}

/// The deployment `id` if it is still active; otherwise Nomad's error for `action`
/// (`can't promote terminal deployment`), with what to do instead.
fn active(s: &StateStore, id: &str, action: &str, authz: &Authz) -> Result<Deployment, ApiError> {
    let d = s
        .deployment(id)
        .ok_or_else(|| ApiError::not_found("deployment not found"))?;
    authz.check(&d.namespace, NsCap::SubmitJob)?;
    if !d.active() {
        return Err(ApiError::bad_request(format!(
            "can't {action} terminal deployment (status {:?}); register a new job version to start a new deployment",
            d.status
        )));
    }
    Ok(d.clone())
}

/// Commits a deployment command and answers `{EvalID, EvalCreateIndex,
/// DeploymentModifyIndex, RevertedJobVersion, Index}`.
async fn update_reply(
    api: &ApiState,
    cmd: Command,
    reverted: Option<u64>,
) -> Result<Response, ApiError> {
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(
        r.index,
        &json!({
            "EvalID": r.eval_id,
            "EvalCreateIndex": r.eval_create_index,
            "DeploymentModifyIndex": r.index,
            "RevertedJobVersion": reverted,
            "Index": r.index,
            "LastContact": api.last_contact_ms(),
            "KnownLeader": api.known_leader(),
        }),
    ))
}

/// `POST /v1/deployment/promote/:id`: `{"All": true}` or `{"Groups": [...]}`.
pub async fn promote(
    State(api): Api,
    Path(id): Path<String>,
    authz: Authz,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let all: bool = field(&body, "All")?.unwrap_or(false);
    let groups: Vec<String> = field(&body, "Groups")?.unwrap_or_default();
    if !all && groups.is_empty() {
        return Err(ApiError::bad_request(
            "promote needs \"All\": true or a non-empty \"Groups\" list of task groups",
        ));
    }
    let now = (api.now)();
    let eval = {
        let s = api.state.read();
        let d = active(&s, &id, "promote", &authz)?;
        deployment_watcher::deployment_eval(&s, &d, now, api.new_id())
    };
    let cmd = Command::DeploymentPromote(DeploymentPromote {
        deployment_id: id,
        groups: (!all).then_some(groups),
        eval: Some(eval),
        now,
    });
    update_reply(&api, cmd, None).await
}

/// `POST /v1/deployment/fail/:id`: fails it; with `auto_revert` groups the leader's
/// deployment watcher then reverts the job to its latest stable version.
pub async fn fail(
    State(api): Api,
    Path(id): Path<String>,
    authz: Authz,
) -> Result<Response, ApiError> {
    let now = (api.now)();
    let (target, description, eval) = {
        let s = api.state.read();
        let d = active(&s, &id, "fail", &authz)?;
        let (target, why) = deployment_watcher::rollback(&s, &d, describe::FAILED_BY_USER);
        let eval = deployment_watcher::deployment_eval(&s, &d, now, api.new_id());
        (target, why, eval)
    };
    let cmd = Command::DeploymentStatusUpdate(DeploymentStatusUpdate {
        deployment_id: id,
        status: deployment_status::FAILED.into(),
        status_description: description,
        // The revert brings its own evaluation.
        eval: target.is_none().then_some(eval),
        now,
    });
    update_reply(&api, cmd, target).await
}

/// `POST /v1/deployment/unblock/:id`: Nomad unblocks a multiregion deployment that
/// waits for its peer regions. orch runs one region, so no deployment is ever blocked:
/// an active one is refused with the reason, an unknown or terminal one as Nomad does.
pub async fn unblock(
    State(api): Api,
    Path(id): Path<String>,
    authz: Authz,
) -> Result<Response, ApiError> {
    let s = api.state.read();
    let d = active(&s, &id, "unblock", &authz)?;
    Err(ApiError::bad_request(format!(
        "deployment {} is not blocked (status {:?}): only a multiregion deployment waiting for its peer regions can be unblocked, and orch runs a single region",
        d.id, d.status
    )))
}

/// `POST /v1/deployment/pause/:id`: `{"Pause": bool}`; resuming creates an evaluation.
pub async fn pause(
    State(api): Api,
    Path(id): Path<String>,
    authz: Authz,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let pause: bool = field(&body, "Pause")?.unwrap_or(false);
    let now = (api.now)();
    let (status, description, eval) = {
        let s = api.state.read();
        let d = active(&s, &id, if pause { "pause" } else { "resume" }, &authz)?;
        if pause {
            (deployment_status::PAUSED, describe::PAUSED, None)
        } else {
            let waiting = d
                .task_groups
                .values()
                .any(|g| g.desired_canaries > 0 && !g.promoted);
            let why = if waiting {
                deployment_describe::NEEDS_PROMOTION
            } else {
                deployment_describe::RUNNING
            };
            let eval = deployment_watcher::deployment_eval(&s, &d, now, api.new_id());
            (deployment_status::RUNNING, why, Some(eval))
        }
    };
    let cmd = Command::DeploymentStatusUpdate(DeploymentStatusUpdate {
        deployment_id: id,
        status: status.into(),
        status_description: description.into(),
        eval,
        now,
    });
    update_reply(&api, cmd, None).await
}

/// `POST /v1/deployment/allocation-health/:id`: `{"HealthyAllocationIDs": [...],
/// "UnhealthyAllocationIDs": [...]}`, for groups with `health_check = "manual"`. An
/// unhealthy mark fails the deployment through the watcher (with its auto-revert).
pub async fn allocation_health(
    State(api): Api,
    Path(id): Path<String>,
    authz: Authz,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let healthy: Vec<String> = field(&body, "HealthyAllocationIDs")?.unwrap_or_default();
    let unhealthy: Vec<String> = field(&body, "UnhealthyAllocationIDs")?.unwrap_or_default();
    if healthy.is_empty() && unhealthy.is_empty() {
        return Err(ApiError::bad_request(
            "must specify at least one healthy/unhealthy allocation ID (HealthyAllocationIDs, UnhealthyAllocationIDs)",
        ));
    }
    let now = (api.now)();
    let eval = {
        let s = api.state.read();
        let d = active(&s, &id, "set health of allocations for", &authz)?;
        deployment_watcher::deployment_eval(&s, &d, now, api.new_id())
    };
    let cmd = Command::DeploymentAllocHealth(DeploymentAllocHealth {
        deployment_id: id,
        healthy,
        unhealthy,
        eval: Some(eval),
        now,
    });
    update_reply(&api, cmd, None).await
}
