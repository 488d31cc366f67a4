//! Scaling policies: `GET /v1/scaling/policies` (`job=`, `type=` filters) and
//! `GET /v1/scaling/policy/:id`, Nomad's `ScalingPolicy` JSON built from the jobs' group
//! `scaling` blocks (policy IDs are stable per job and group, see
//! `orch_core::autoscale::policy_id`), plus orch's `Status` extension from the leader's
//! autoscaler. Also the scaling events of `GET /v1/job/:id/scale`.

use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::autoscale;
use orch_core::model::{Job, ScalingPolicy, TaskGroup};
use orch_core::state::{StateStore, table};
use serde_json::{Value, json};

use super::query::{Api, Params, Query};
use super::{ApiError, ApiState, QueryOpts};
use orch_core::acl::NsCap;

fn policies_index(s: &StateStore) -> u64 {
    s.index(table::JOBS)
}

/// Nomad's `ScalingPolicy` of one group, with every server-assigned field filled.
fn policy_json(job: &Job, g: &TaskGroup, sc: &ScalingPolicy) -> Value {
    json!({
        "ID": autoscale::policy_id(&job.namespace, &job.id, &g.name),
        "Namespace": job.namespace,
        "Type": if sc.kind.is_empty() { "horizontal" } else { sc.kind.as_str() },
        "Target": {"Namespace": job.namespace, "Job": job.id, "Group": g.name},
        "Min": sc.min, "Max": sc.max, "Policy": sc.policy, "Enabled": sc.enabled,
        "CreateIndex": job.create_index, "ModifyIndex": job.job_modify_index,
    })
}

/// Every group policy visible to the query, in job then group order.
fn all_policies<'a>(
    s: &'a StateStore,
    q: &'a QueryOpts,
) -> impl Iterator<Item = (&'a Job, &'a TaskGroup, &'a ScalingPolicy)> + 'a {
    s.jobs()
        .filter(|j| q.sees(&j.namespace) && !j.is_template())
        .flat_map(|j| {
            j.task_groups
                .iter()
                .filter_map(move |g| g.scaling.as_ref().map(|sc| (j, g, sc)))
        })
}

/// `GET /v1/scaling/policies`: list stubs, filtered by `job=` (exact) and `type=`
/// (prefix), as Nomad's.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, policies_index).await;
    let job = q.raw.get("job").cloned();
    let kind = q.raw.get("type").cloned().unwrap_or_default();
    let body: Vec<Value> = {
        let s = api.state.read();
        all_policies(&s, &q)
            .filter(|(j, _, _)| job.as_ref().is_none_or(|id| &j.id == id))
            .map(|(j, g, sc)| policy_json(j, g, sc))
            .filter(|p| p["Type"].as_str().unwrap_or("").starts_with(&kind))
            .map(|p| {
                json!({"ID": p["ID"], "Enabled": p["Enabled"], "Type": p["Type"],
                       "Target": p["Target"], "CreateIndex": p["CreateIndex"],
                       "ModifyIndex": p["ModifyIndex"]})
            })
            .collect()
    };
    Ok(api.reply(index, &body))
}

/// `GET /v1/scaling/policy/:id`: the policy, plus `Status` (orch's extension): what the
/// autoscaler last did with it, or why it could not.
pub async fn get_policy(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let mut q = QueryOpts::parse(raw)?;
    q.namespace = "*".into(); // IDs are unique across namespaces.
    let index = api.block(&q, policies_index).await;
    let mut body = {
        let s = api.state.read();
        all_policies(&s, &q)
            .map(|(j, g, sc)| policy_json(j, g, sc))
            .find(|p| p["ID"] == id.as_str())
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "scaling policy {id:?} not found; list them with GET /v1/scaling/policies"
                ))
            })?
    };
    let ns = body["Namespace"].as_str().unwrap_or("default").to_string();
    if ![NsCap::ReadScalingPolicy, NsCap::ReadJob]
        .iter()
        .any(|c| q.authz.allows(&ns, *c))
    {
        return Err(super::auth::permission_denied());
    }
    body["Status"] = status_json(&api, &id, &body);
    Ok(api.reply(index, &body))
}

fn status_json(api: &ApiState, id: &str, policy: &Value) -> Value {
    if policy["Policy"].as_object().is_none_or(|m| m.is_empty()) {
        return json!({"State": "bounds-only", "Reason": "the group has no autoscaler policy block; only manual scaling within Min/Max"});
    }
    if policy["Enabled"] == false {
        return json!({"State": "disabled", "Reason": "scaling.enabled is false"});
    }
    match api.leader.as_ref() {
        Some(l) if api.replicator.is_leader() => match l.autoscaler.status(id) {
            Some(st) => st.to_json(),
            None => json!({"State": "pending", "Reason": "not evaluated yet"}),
        },
        _ => json!({"State": "unknown",
                    "Reason": "the autoscaler runs on the leader; ask the leader's HTTP API for the status"}),
    }
}

/// The `Events` of one group in `GET /v1/job/:id/scale`: Nomad's `ScalingEvent`s, newest
/// first, or `null` when there are none.
pub fn group_events(s: &StateStore, job: &Job, group: &str) -> Value {
    match s
        .scaling_events(&job.namespace, &job.id)
        .and_then(|m| m.get(group))
    {
        Some(list) if !list.is_empty() => serde_json::to_value(list).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}
