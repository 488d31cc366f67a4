//! orch's releases (deployment groups; README, "Beyond Nomad"): `PUT /v1/releases`
//! registers several jobs as one release (`Command::ReleaseRun`: all or none),
//! `GET /v1/releases` lists them (`?prefix=` on the ID, `?name=`), `GET /v1/release/:id`
//! reads one. A release spans namespaces, so the ACL rule is the handler's: submitting
//! needs `submit-job` in every job's namespace, reading `read-job` in every one.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::acl::NsCap;
use orch_core::model::{Release, trigger};
use orch_core::state::{
    Command, JobRegister, JobRegisterGated, MAX_RELEASE_JOBS, MAX_RELEASE_NAME, RELEASES_TABLE,
    ReleaseRun,
};
use serde_json::{Value, json};

use super::auth::Authz;
use super::query::{Api, Params, Query, json_body};
use super::{ApiError, ApiState, QueryOpts};

/// Whether the caller may read every job of `r`.
fn may_read(authz: &Authz, r: &Release) -> bool {
    r.jobs
        .iter()
        .all(|j| authz.allows(&j.namespace, NsCap::ReadJob))
}

/// `GET /v1/releases`: every release the caller may read, newest first per name.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, |s| s.index(RELEASES_TABLE)).await;
    let name = q.raw.get("name").cloned().unwrap_or_default();
    let mut list: Vec<Release> = api
        .state
        .read()
        .releases()
        .filter(|r| r.id.starts_with(&q.prefix) && (name.is_empty() || r.name == name))
        .filter(|r| may_read(&q.authz, r))
        .cloned()
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name).then(b.version.cmp(&a.version)));
    Ok(api.reply(index, &list))
}

/// `GET /v1/release/:id`.
pub async fn get_release(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let index = api.block(&q, |s| s.index(RELEASES_TABLE)).await;
    let r = api
        .state
        .read()
        .release(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("release not found"))?;
    if !may_read(&q.authz, &r) {
        return Err(super::auth::permission_denied());
    }
    Ok(api.reply(index, &r))
}

/// One job of the release body (with its source, `Submissions[i]`, when sent), parsed
/// and checked as `PUT /v1/jobs` would; warnings (a source too large to keep) go to
/// `warnings`.
fn prepare(
    api: &ApiState,
    q: &QueryOpts,
    (i, job, submission): (usize, Value, Value),
    warnings: &mut Vec<String>,
) -> Result<JobRegisterGated, ApiError> {
    let at = |e: ApiError| ApiError::bad_request(format!("Release.Jobs[{i}]: {}", e.message));
    let mut body = json!({ "Job": job, "Submission": submission });
    let (job, gates) = super::workflows::body_job_gated(&mut body, q).map_err(at)?;
    let (submission, warned) = super::job_submission::body_submission(&body, &job)
        .map_err(|e| ApiError::bad_request(format!("Release.Submissions[{i}]: {}", e.message)))?;
    warnings.extend(
        warned
            .into_iter()
            .map(|w| format!("Release.Jobs[{i}]: {w}")),
    );
    q.authz.check(&job.namespace, NsCap::SubmitJob)?;
    super::namespaces::check_job_namespace(api, &job).map_err(at)?;
    super::node_pools::check_job_node_pool(api, &job).map_err(at)?;
    super::workflows::check_job_cycles(api, &job).map_err(at)?;
    let eval = (!job.is_template()).then(|| {
        api.new_eval(
            &job.namespace,
            &job.id,
            &job.job_type,
            job.priority,
            trigger::JOB_REGISTER,
        )
    });
    Ok(JobRegisterGated {
        register: JobRegister {
            job,
            eval,
            enforce_index: None,
            preserve_counts: false,
            now: (api.now)(),
        },
        submission,
        gates,
    })
}

/// `Release.Submissions`: absent, or one source (or `null`) per job, in `Jobs` order.
fn submissions(release: &Value, jobs: usize) -> Result<Vec<Value>, ApiError> {
    match release.get("Submissions") {
        None | Some(Value::Null) => Ok(vec![Value::Null; jobs]),
        Some(Value::Array(list)) if list.len() == jobs => Ok(list.clone()),
        Some(_) => Err(ApiError::bad_request(format!(
            "Release.Submissions: expected a list of {jobs} job sources (or nulls), one per job of Release.Jobs"
        ))),
    }
}

/// `PUT/POST /v1/releases`: `{"Release": {"Name": "shop", "Jobs": [job, ...],
/// "Submissions": [source, ...]}}` → `{"ID", "Version", "Index", "Warnings"}`. Each
/// source (optional, `null` for none) is a `job run` `Submission`, kept with its job's
/// version for `GET /v1/job/:id/submission`.
pub async fn run(State(api): Api, Query(raw): Params, body: Bytes) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let mut body = json_body(&body)?;
    let release = body.get_mut("Release").map(Value::take).ok_or_else(|| {
        ApiError::bad_request(
            "Release must be specified: send {\"Release\": {\"Name\": ..., \"Jobs\": [...]}}",
        )
    })?;
    let name = release["Name"].as_str().unwrap_or_default().to_string();
    if name.trim().is_empty() || name.len() > MAX_RELEASE_NAME {
        return Err(ApiError::bad_request(format!(
            "Release.Name: a release needs a name of 1 to {MAX_RELEASE_NAME} bytes"
        )));
    }
    let jobs = match release.get("Jobs") {
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_RELEASE_JOBS => {
            list.clone()
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "Release.Jobs: a release names 1 to {MAX_RELEASE_JOBS} jobs, as a list of job objects"
            )));
        }
    };
    let sources = submissions(&release, jobs.len())?;
    super::scheduler_config::check_registration_allowed(&api, &q.authz)?;
    let mut warnings = Vec::new();
    let registers = jobs
        .into_iter()
        .zip(sources)
        .enumerate()
        .map(|(i, (j, s))| prepare(&api, &q, (i, j, s), &mut warnings))
        .collect::<Result<Vec<_>, _>>()?;
    let id = api.new_id();
    let cmd = Command::ReleaseRun(ReleaseRun {
        id: id.clone(),
        name,
        registers,
        now: (api.now)(),
    });
    let r = api.replicator.propose(cmd).await?;
    let version = api.state.read().release(&id).map_or(0, |r| r.version);
    Ok(api.reply(
        r.index,
        &json!({ "ID": id, "Version": version, "Index": r.index, "Warnings": warnings }),
    ))
}
