//! `/v1/jobs/statuses` (Nomad 1.8): each job with its allocations' statuses, its
//! children's statuses and its latest deployment, newest change first: what Nomad's
//! jobs index page (and tools built like it) reads in one request.
//!
//! Pages are keyed by the job's `ModifyIndex` (Nomad's `OnlyModifyIndex` tokenizer);
//! the reply's index is the highest index among the page's jobs, allocations and
//! deployments, so a blocking query wakes for changes on its page.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use orch_core::acl::NsCap;
use orch_core::model::{Deployment, Job, deployment_status};
use orch_core::state::{StateStore, table};
use serde_json::{Value, json};

use super::ApiError;
use super::list::ListOpts;
use super::query::{Api, Params, Query, json_body};

/// Most jobs one `Jobs` body may name.
const MAX_NAMED_JOBS: usize = 1024;

fn statuses_index(s: &StateStore) -> u64 {
    [table::JOBS, table::ALLOCS, table::DEPLOYMENTS]
        .iter()
        .map(|t| s.index(t))
        .max()
        .unwrap_or(0)
        .max(1)
}

/// `GET /v1/jobs/statuses?namespace=&include_children=&per_page=&next_token=&reverse=`;
/// `POST` with `{"Jobs": [{"ID", "Namespace"}]}` asks for those jobs only.
pub async fn statuses(
    State(api): Api,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let named = named_jobs(&json_body(&body)?)?;
    let (q, opts) = ListOpts::parse(raw)?;
    let include_children = q.flag("include_children")?;
    let reverse = q.flag("reverse")?;
    let index = api.block(&q, statuses_index).await;
    let s = api.state.read();
    let mut jobs: Vec<&Job> = s
        .jobs()
        .filter(|j| q.sees(&j.namespace) && q.authz.allows(&j.namespace, NsCap::ReadJob))
        .filter(|j| include_children || j.parent_id.is_empty())
        .filter(|j| named.is_empty() || named.contains(&(j.namespace.clone(), j.id.clone())))
        .collect();
    // Newest change first (Nomad inverts its index order); `reverse` gives oldest first.
    jobs.sort_by_key(|j| {
        (
            std::cmp::Reverse(j.modify_index),
            j.namespace.clone(),
            j.id.clone(),
        )
    });
    if reverse {
        jobs.reverse();
    }
    let mut highest = 0;
    let items = jobs.into_iter().map(|j| {
        let (v, top) = job_status(&s, j);
        highest = highest.max(top);
        (j.modify_index, v)
    });
    let (page, next) = page_by_modify_index(&opts, items, reverse);
    let reply_index = if highest == 0 { index } else { highest };
    Ok(super::list::reply(&api, reply_index, &page, next))
}

/// One page of items already in page order, keyed by `ModifyIndex` (descending unless
/// `reverse`): the token is the first key of the next page.
fn page_by_modify_index(
    opts: &ListOpts,
    items: impl Iterator<Item = (u64, Value)>,
    reverse: bool,
) -> (Vec<Value>, Option<String>) {
    let start: Option<u64> = opts.next_token.as_deref().and_then(|t| t.parse().ok());
    let mut out = Vec::new();
    for (k, v) in items {
        let before_start = start.is_some_and(|s| if reverse { k < s } else { k > s });
        if before_start || opts.filter.as_ref().is_some_and(|f| !f.matches(&v)) {
            continue;
        }
        if opts.per_page > 0 && out.len() == opts.per_page {
            return (out, Some(k.to_string()));
        }
        out.push(v);
    }
    (out, None)
}

/// The `Jobs` of a POST body: `(Namespace, ID)` pairs (an empty namespace is
/// `default`); a malformed entry is a 400 naming it.
fn named_jobs(body: &Value) -> Result<BTreeSet<(String, String)>, ApiError> {
    let Some(list) = super::jobs::get_ci(body, "Jobs").filter(|v| !v.is_null()) else {
        return Ok(BTreeSet::new());
    };
    let Some(list) = list.as_array() else {
        return Err(ApiError::bad_request(
            "Jobs: expected a list of {\"ID\": ..., \"Namespace\": ...}",
        ));
    };
    if list.len() > MAX_NAMED_JOBS {
        return Err(ApiError::bad_request(format!(
            "Jobs: {} jobs named, at most {MAX_NAMED_JOBS} per request",
            list.len()
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, j)| {
            let id = j["ID"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
                ApiError::bad_request(format!("Jobs[{i}].ID: expected the job's ID"))
            })?;
            let ns = j["Namespace"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("default");
            Ok((ns.to_string(), id.to_string()))
        })
        .collect()
}

/// Nomad's `JobStatusesJob`, and the highest index among the job and what it shows.
fn job_status(s: &StateStore, job: &Job) -> (Value, u64) {
    let mut highest = job.modify_index;
    let mut v = json!({
        "ID": job.id, "Namespace": job.namespace, "Name": job.name, "Type": job.job_type,
        "NodePool": job.node_pool, "Datacenters": job.datacenters, "Priority": job.priority,
        "Version": job.version, "ParentID": job.parent_id, "SubmitTime": job.submit_time,
        "ModifyIndex": job.modify_index, "Stop": job.stop, "Status": job.status,
        "IsPack": job.meta.contains_key("pack.name"),
        "GroupCountSum": job.task_groups.iter().map(|g| g.count as u64).sum::<u64>(),
        "Allocs": null, "ChildStatuses": null, "LatestDeployment": null,
    });
    if job.is_template() {
        let children: Vec<&Job> = s.child_jobs(&job.namespace, &job.id);
        highest = children
            .iter()
            .map(|c| c.modify_index)
            .fold(highest, u64::max);
        v["ChildStatuses"] = json!(children.iter().map(|c| &c.status).collect::<Vec<_>>());
        return (v, highest);
    }
    let allocs: Vec<Value> = s
        .allocs_by_job(&job.namespace, &job.id)
        .into_iter()
        .map(|a| {
            highest = highest.max(a.modify_index);
            let ds = a.deployment_status.as_ref();
            json!({
                "ID": a.id, "Group": a.task_group, "ClientStatus": a.client_status,
                "NodeID": a.node_id, "JobVersion": a.job_version,
                "FollowupEvalID": a.followup_eval_id, "HasPausedTask": false,
                "DeploymentStatus": {
                    "Canary": ds.is_some_and(|d| d.canary),
                    "Healthy": ds.and_then(|d| d.healthy),
                },
            })
        })
        .collect();
    if !allocs.is_empty() {
        v["Allocs"] = json!(allocs);
    }
    if let Some(d) = s.latest_deployment_by_job(&job.namespace, &job.id) {
        highest = highest.max(d.modify_index);
        v["LatestDeployment"] = latest_deployment(d);
    }
    (v, highest)
}

/// Nomad's `JobStatusesLatestDeployment`.
fn latest_deployment(d: &Deployment) -> Value {
    let canary_groups = || d.task_groups.values().filter(|g| g.desired_canaries > 0);
    json!({
        "ID": d.id, "IsActive": d.active(), "JobVersion": d.job_version,
        "Status": d.status, "StatusDescription": d.status_description,
        "AllAutoPromote": canary_groups().all(|g| g.auto_promote),
        "RequiresPromotion": d.status == deployment_status::RUNNING
            && canary_groups().any(|g| !g.promoted),
    })
}
