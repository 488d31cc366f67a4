//! `/v1/jobs` and `/v1/job/:id/...`: list, register, parse, validate, read, stop/purge,
//! and the job's allocations, evaluations, deployments, versions and summary. Scaling,
//! revert and the other operations are in [`super::job_ops`]; `job plan` in [`super::plan`].

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::acl::NsCap;
use orch_core::jobspec::from_json::{JsonJobError, decode_job_value, job_from_json_value};
use orch_core::jobspec::{parse_hcl_to_json, parse_var_file};
use orch_core::model::{Job, client_status, eval_status, trigger};
use orch_core::state::{
    Command, JobDeregister, JobRegister, JobRegisterGated, JobRegisterSubmitted, StateStore, table,
};
use serde_json::{Value, json};

use super::allocs::alloc_stub;
use super::query::{Query, blocking_read, field, json_body};
use super::{ApiError, ApiState, QueryOpts};

use super::query::{Api, Params};

/// Nomad's `JobListStub`.
pub fn job_stub(s: &StateStore, job: &Job) -> Value {
    json!({
        "ID": job.id,
        "ParentID": job.parent_id,
        "Name": job.name,
        "Namespace": job.namespace,
        "Datacenters": job.datacenters,
        "NodePool": job.node_pool,
        "Multiregion": null,
        "Type": job.job_type,
        "Priority": job.priority,
        "Periodic": job.periodic.as_ref().is_some_and(|p| p.enabled),
        "ParameterizedJob": job.parameterized_job.is_some(),
        "Stop": job.stop,
        "Status": job.status,
        "StatusDescription": job.status_description,
        "JobSummary": job_summary(s, job),
        "Meta": job.meta,
        "CreateIndex": job.create_index,
        "ModifyIndex": job.modify_index,
        "JobModifyIndex": job.job_modify_index,
        "SubmitTime": job.submit_time,
    })
}

/// Nomad's `JobSummary`: per group, allocations by client status, plus what is still
/// queued according to the job's latest evaluation.
pub fn job_summary(s: &StateStore, job: &Job) -> Value {
    let children = orch_core::periodic::children_summary(s, &job.namespace, &job.id);
    let allocs = s.allocs_by_job(&job.namespace, &job.id);
    let latest_eval = s
        .evals_by_job(&job.namespace, &job.id)
        .into_iter()
        .max_by_key(|e| (e.create_index, e.id.clone()));
    let mut modify = job.modify_index;
    let mut groups = serde_json::Map::new();
    for g in &job.task_groups {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        let mut live = 0u64;
        for a in allocs.iter().filter(|a| a.task_group == g.name) {
            modify = modify.max(a.modify_index);
            if !a.terminal() {
                live += 1;
            }
            let bucket = match a.client_status.as_str() {
                client_status::PENDING => "Starting",
                client_status::RUNNING => "Running",
                client_status::COMPLETE => "Complete",
                client_status::FAILED => "Failed",
                client_status::LOST => "Lost",
                client_status::UNKNOWN => "Unknown",
                _ => continue,
            };
            *counts.entry(bucket).or_default() += 1;
        }
        let queued = match latest_eval {
            Some(e) if e.status == eval_status::PENDING && !job.stop => {
                u64::from(g.count).saturating_sub(live)
            }
            Some(e) => e.queued_allocations.get(&g.name).copied().unwrap_or(0),
            None => 0,
        };
        let c = |k: &str| counts.get(k).copied().unwrap_or(0);
        groups.insert(
            g.name.clone(),
            json!({
                "Queued": queued, "Complete": c("Complete"), "Failed": c("Failed"),
                "Running": c("Running"), "Starting": c("Starting"), "Lost": c("Lost"),
                "Unknown": c("Unknown"),
            }),
        );
    }
    let mut out = json!({
        "JobID": job.id,
        "Namespace": job.namespace,
        "Summary": groups,
        "Children": {"Pending": children.0, "Running": children.1, "Dead": children.2},
        "CreateIndex": job.create_index,
        "ModifyIndex": modify,
    });
    // orch extension, only for a job whose groups wait for a job dependency: why each
    // waits, from the live state.
    let waiting = orch_core::workflow::job_deps::held_groups(s, job, &allocs);
    if !waiting.is_empty() && !job.stop {
        out["Waiting"] = json!(waiting);
    }
    out
}

fn jobs_index(s: &StateStore) -> u64 {
    s.index(table::JOBS)
}

pub(super) fn summary_index(s: &StateStore) -> u64 {
    s.index(table::JOBS).max(s.index(table::ALLOCS))
}

/// The job or Nomad's `job not found` 404.
pub(super) fn find_job<'a>(
    s: &'a StateStore,
    q: &QueryOpts,
    id: &str,
) -> Result<&'a Job, ApiError> {
    s.job(q.ns(), id)
        .ok_or_else(|| ApiError::not_found("job not found"))
}

/// `GET /v1/jobs`: list stubs, filtered by `prefix` and `namespace` (`*` for all).
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let (q, list) = super::list::ListOpts::parse(raw)?;
    let index = api.block(&q, summary_index).await;
    let (body, next) = {
        let s = api.state.read();
        let items = s
            .jobs()
            .filter(|j| q.sees(&j.namespace) && j.id.starts_with(&q.prefix))
            .map(|j| ((j.namespace.clone(), j.id.clone()), job_stub(&s, j)));
        list.page(
            items,
            |t| match t.split_once('.') {
                Some((ns, id)) => (ns.to_string(), id.to_string()),
                None => (q.ns().to_string(), t.to_string()),
            },
            |(ns, id)| format!("{ns}.{id}"),
        )
    };
    Ok(super::list::reply(&api, index, &body, next))
}

/// Looks a field up in a JSON object, case-insensitively as Go's decoder does.
pub fn get_ci<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    let obj = body.as_object()?;
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Turns job-decoding errors into a 400 listing every field error with its path.
pub fn job_error(e: JsonJobError) -> ApiError {
    match e {
        JsonJobError::Syntax { .. } => ApiError::bad_request(e.to_string()),
        JsonJobError::Fields(errors) => {
            ApiError::bad_request(format!("Job validation failed: {errors}"))
        }
    }
}

/// Takes a field out of a JSON object, matching its name case-insensitively as Go's
/// decoder does.
fn take_ci(body: &mut Value, name: &str) -> Option<Value> {
    let obj = body.as_object_mut()?;
    if let Some(v) = obj.remove(name) {
        return Some(v);
    }
    let key = obj.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone();
    obj.remove(&key)
}

/// The `Job` of a request body, defaulting its namespace to `?namespace=`, canonicalized
/// and validated. Missing job, wrong types, unknown fields and invalid values are 400s.
/// The job is moved out of the body (a job can be large); the other fields stay.
/// orch's metric gates are taken out of it (see `workflows::body_job_gated`).
pub fn body_job(body: &mut Value, q: &QueryOpts) -> Result<Job, ApiError> {
    super::workflows::body_job_gated(body, q).map(|(job, _)| job)
}

/// The body's job, parsed, canonicalized and validated, gates still in it.
pub(super) fn body_job_parsed(body: &mut Value, q: &QueryOpts) -> Result<Job, ApiError> {
    let mut value = take_ci(body, "Job")
        .filter(|v| !v.is_null())
        .ok_or_else(|| {
            ApiError::bad_request("Job must be specified: send {\"Job\": {...}} as the body")
        })?;
    if let Some(obj) = value.as_object_mut()
        && obj.get("Namespace").is_none_or(Value::is_null)
        && q.namespace != "*"
    {
        obj.insert("Namespace".into(), Value::String(q.namespace.clone()));
    }
    job_from_json_value(value).map_err(job_error)
}

/// The namespace of the body's job as submitted (`Job.Namespace`, else `?namespace=`),
/// for ACL checks before the job is parsed.
pub fn body_namespace(body: &Value, q: &QueryOpts) -> String {
    let job = body.get("Job").or_else(|| body.get("job"));
    job.and_then(|j| j.get("Namespace"))
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty())
        .unwrap_or(q.ns())
        .to_string()
}

/// `PUT/POST /v1/jobs`: register a job (see [`register_job`]).
pub async fn register(
    State(api): Api,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    register_job(&api, &q, body, None).await
}

/// `PUT/POST /v1/job/:id`: update (register) a job whose ID must match the path.
pub async fn update(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let body = json_body(&body)?;
    register_job(&api, &q, body, Some(&id)).await
}

/// Registers the body's job with its evaluation in one `JobRegister` command (no
/// evaluation for periodic or parameterized jobs, as in Nomad).
async fn register_job(
    api: &ApiState,
    q: &QueryOpts,
    mut body: Value,
    path_id: Option<&str>,
) -> Result<Response, ApiError> {
    let (job, gates) = super::workflows::body_job_gated(&mut body, q)?;
    q.authz.check(&job.namespace, NsCap::SubmitJob)?;
    super::scheduler_config::check_registration_allowed(api, &q.authz)?;
    super::namespaces::check_job_namespace(api, &job)?;
    super::node_pools::check_job_node_pool(api, &job)?;
    super::workflows::check_job_cycles(api, &job)?;
    if let Some(id) = path_id
        && id != job.id
    {
        return Err(ApiError::bad_request(format!(
            "Job ID does not match name: the URL names {id:?} but the job's ID is {:?}",
            job.id
        )));
    }
    let enforce = field::<bool>(&body, "EnforceIndex")?.unwrap_or(false);
    let modify_index = field::<u64>(&body, "JobModifyIndex")?.unwrap_or(0);
    let preserve_counts = field::<bool>(&body, "PreserveCounts")?.unwrap_or(false);
    let priority = match field::<i32>(&body, "EvalPriority")?.unwrap_or(0) {
        0 => job.priority,
        p @ 1..=100 => p,
        p => {
            return Err(ApiError::bad_request(format!(
                "EvalPriority {p} is out of range: use 1 to 100, or 0 for the job's priority"
            )));
        }
    };
    let eval = (!job.is_template()).then(|| {
        api.new_eval(
            &job.namespace,
            &job.id,
            &job.job_type,
            priority,
            trigger::JOB_REGISTER,
        )
    });
    let (submission, warnings) = super::job_submission::body_submission(&body, &job)?;
    let register = JobRegister {
        job,
        eval,
        enforce_index: enforce.then_some(modify_index),
        preserve_counts,
        now: (api.now)(),
    };
    let had_gates = {
        let s = api.state.read();
        let (ns, id) = (&register.job.namespace, &register.job.id);
        s.job(ns, id)
            .is_some_and(|j| s.update_gates(ns, id, j.version).is_some())
    };
    let cmd = match submission {
        _ if !gates.is_empty() || had_gates => Command::JobRegisterGated(JobRegisterGated {
            register,
            submission,
            gates,
        }),
        Some(submission) => Command::JobRegisterSubmitted(JobRegisterSubmitted {
            register,
            submission,
        }),
        None => Command::JobRegister(register),
    };
    super::query::write_reply_warned(api, cmd, warnings).await
}

/// `POST /v1/jobs/parse`: HCL (`JobHCL`, with `Variables` as a var-file text) to the
/// job's API JSON; `Canonicalize` fills Nomad's defaults.
pub async fn parse(State(api): Api, Query(raw): Params, body: Bytes) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let ns = q.ns();
    if ![NsCap::ParseJob, NsCap::ReadJob, NsCap::SubmitJob]
        .iter()
        .any(|c| q.authz.allows(ns, *c))
    {
        return Err(super::auth::permission_denied());
    }
    let body = json_body(&body)?;
    let hcl: String = field(&body, "JobHCL")?.ok_or_else(|| {
        ApiError::bad_request("Job spec is empty: set JobHCL to the jobspec text")
    })?;
    if field::<bool>(&body, "HCLv1")?.unwrap_or(false) {
        return Err(ApiError::bad_request(
            "HCLv1: orch parses HCL2 jobspecs only (Nomad removed HCL1 parsing in 1.9); convert the jobspec to HCL2 and drop HCLv1",
        ));
    }
    let canonicalize = field::<bool>(&body, "Canonicalize")?.unwrap_or(false);
    let vars = match field::<String>(&body, "Variables")? {
        Some(text) if !text.trim().is_empty() => {
            parse_var_file("Variables", &text).map_err(|e| ApiError::bad_request(e.to_string()))?
        }
        _ => BTreeMap::new(),
    };
    let value = if hcl.trim_start().starts_with('{') {
        json_body(&Bytes::from(hcl.into_bytes()))?
    } else {
        parse_hcl_to_json(&hcl, "input.hcl", &vars)
            .map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let out = if canonicalize {
        let job = job_from_json_value(value).map_err(job_error)?;
        serde_json::to_value(&job).map_err(internal)?
    } else {
        // Still check types, so a bad spec is refused here and not at registration.
        decode_job_value(value.clone()).map_err(job_error)?;
        value
    };
    let index = api.state.latest_index().max(1);
    Ok(api.reply(index, &out))
}

/// `PUT/POST /v1/validate/job`: 200 with `ValidationErrors` for an invalid job (as
/// Nomad), 400 only when the body is not JSON.
pub async fn validate(
    State(api): Api,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let mut body = json_body(&body)?;
    q.authz.check(&body_namespace(&body, &q), NsCap::ReadJob)?;
    // Nomad's JobValidateRequest without a job (an empty or `{}` body) is a 400, not a
    // validation result.
    if get_ci(&body, "Job").is_none_or(Value::is_null) {
        return Err(ApiError::bad_request("Job must be specified"));
    }
    let (errors, error): (Vec<String>, String) = match body_job(&mut body, &q) {
        Ok(_) => (Vec::new(), String::new()),
        Err(e) => {
            let list: Vec<String> = e
                .message
                .lines()
                .filter_map(|l| l.trim().strip_prefix("* ").map(str::to_string))
                .collect();
            let list = if list.is_empty() {
                vec![e.message.clone()]
            } else {
                list
            };
            (list, e.message)
        }
    };
    let index = api.state.latest_index().max(1);
    Ok(api.reply(
        index,
        &json!({
            "DriverConfigValidated": true,
            "ValidationErrors": errors,
            "Error": error,
            "Warnings": "",
        }),
    ))
}

/// `GET /v1/job/:id`.
pub async fn get_job(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, jobs_index).await;
    let job = {
        let s = api.state.read();
        let mut job = find_job(&s, &q, &id)?.clone();
        orch_core::workflow::gate::put_stored_gates(&s, &mut job);
        job
    };
    Ok(api.reply(index, &job))
}

/// `DELETE /v1/job/:id?purge=true`: stop (or purge) the job with a deregister evaluation.
pub async fn deregister(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let purge = q.flag("purge")?;
    let (job_type, priority, template) = {
        let s = api.state.read();
        let j = find_job(&s, &q, &id)?;
        (j.job_type.clone(), j.priority, j.is_template())
    };
    let eval = (!template)
        .then(|| api.new_eval(q.ns(), &id, &job_type, priority, trigger::JOB_DEREGISTER));
    let cmd = Command::JobDeregister(JobDeregister {
        namespace: q.ns().to_string(),
        job_id: id,
        purge,
        eval,
        now: (api.now)(),
    });
    let r = api.replicator.propose(cmd).await?;
    Ok(api.reply(
        r.index,
        &json!({
            "EvalID": r.eval_id,
            "EvalCreateIndex": r.eval_create_index,
            "JobModifyIndex": r.job_modify_index,
            "VolumeEvalID": "",
            "VolumeEvalIndex": 0,
            "Index": r.index,
            "LastContact": api.last_contact_ms(),
            "KnownLeader": api.known_leader(),
        }),
    ))
}

/// `GET /v1/job/:id/allocations`: allocation stubs of the job.
pub async fn allocations(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, |s| s.index(table::ALLOCS)).await;
    let body: Vec<Value> = {
        let s = api.state.read();
        s.allocs_by_job(q.ns(), &id)
            .into_iter()
            .map(|a| alloc_stub(&s, a))
            .collect()
    };
    Ok(api.reply(index, &body))
}

/// `GET /v1/job/:id/evaluations`.
pub async fn evaluations(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    blocking_read(
        &api,
        raw,
        |s| s.index(table::EVALS),
        |s, q| {
            Ok(s.evals_by_job(q.ns(), &id)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>())
        },
    )
    .await
}

/// `GET /v1/job/:id/deployments`.
pub async fn deployments(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    blocking_read(
        &api,
        raw,
        |s| s.index(table::DEPLOYMENTS),
        |s, q| {
            let mut d: Vec<_> = s
                .deployments_by_job(q.ns(), &id)
                .into_iter()
                .cloned()
                .collect();
            d.sort_by_key(|b| std::cmp::Reverse(b.create_index));
            Ok(d)
        },
    )
    .await
}

/// `GET /v1/job/:id/deployment`: the latest deployment, or `null`.
pub async fn latest_deployment(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    blocking_read(
        &api,
        raw,
        |s| s.index(table::DEPLOYMENTS),
        |s, q| Ok(s.latest_deployment_by_job(q.ns(), &id).cloned()),
    )
    .await
}

/// `GET /v1/job/:id/versions`: `{Versions, Diffs}` newest first. With `?diffs=true`,
/// `Diffs[i]` is Nomad's `JobDiff` from `Versions[i+1]` to `Versions[i]` (one fewer
/// than the versions); otherwise `Diffs` is null, as in Nomad.
pub async fn versions(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    blocking_read(
        &api,
        raw,
        |s| s.index(table::JOB_VERSION),
        |s, q| {
            let mut versions: Vec<Job> = s.job_versions(q.ns(), &id).into_iter().cloned().collect();
            for j in &mut versions {
                orch_core::workflow::gate::put_stored_gates(s, j);
            }
            if versions.is_empty() {
                return Err(ApiError::not_found("job versions not found"));
            }
            let diffs = if q.flag("diffs")? {
                let diffs: Vec<_> = versions
                    .windows(2)
                    .map(|w| super::job_diff::diff_jobs(w.get(1), w.first()))
                    .collect();
                serde_json::to_value(diffs).map_err(internal)?
            } else {
                Value::Null
            };
            Ok(json!({"Versions": versions, "Diffs": diffs}))
        },
    )
    .await
}

/// `GET /v1/job/:id/summary`.
pub async fn summary(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    blocking_read(&api, raw, summary_index, |s, q| {
        Ok(job_summary(s, find_job(s, q, &id)?))
    })
    .await
}

/// A failure that is orch's fault, not the caller's.
pub fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        format!("internal error: {e}; please report it"),
    )
}
