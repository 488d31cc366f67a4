//! Job sources: the `Submission` of a registration body (Nomad's `JobSubmission`, the
//! jobspec text and its variables) and `GET /v1/job/:id/submission?version=N`.

use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::acl::NsCap;
use orch_core::model::job_submission::{DISCARD_JOB_SOURCE_META, MAX_JOB_SOURCE_BYTES};
use orch_core::model::{Job, JobSubmission};
use orch_core::state::JOB_SUBMISSIONS_TABLE;
use serde_json::Value;

use super::jobs::{find_job, get_ci};
use super::query::{Api, Params, Query};
use super::{ApiError, QueryOpts};

/// The registration body's `Submission`, if it carries one the job keeps, with the
/// warnings of one it does not: a source over Nomad's 1 MB limit is dropped (the job is
/// still registered), and a job with `meta { nomad_discard_job_source = true }` asks
/// for none. A malformed one is a 400 naming the field.
pub fn body_submission(
    body: &Value,
    job: &Job,
) -> Result<(Option<JobSubmission>, Vec<String>), ApiError> {
    let Some(value) = get_ci(body, "Submission").filter(|v| !v.is_null()) else {
        return Ok((None, Vec::new()));
    };
    let mut value = value.clone();
    if let Some(obj) = value.as_object_mut() {
        // Go clients send nulls for unset maps and strings.
        obj.retain(|_, v| !v.is_null());
        for server_set in ["Namespace", "JobID", "Version", "JobIndex"] {
            obj.remove(server_set);
        }
    }
    let sub: JobSubmission = serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(format!(
            "Submission: {e}; send {{\"Source\": \"...\", \"Format\": \"hcl2\", \"VariableFlags\": {{...}}, \"Variables\": \"...\"}}"
        ))
    })?;
    sub.validate()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let discard = job
        .meta
        .get(DISCARD_JOB_SOURCE_META)
        .is_some_and(|v| orch_core::strconv::parse_bool(v) == Some(true));
    if discard {
        return Ok((None, Vec::new()));
    }
    if sub.source_too_large() {
        let warning = format!(
            "job source size of {} exceeds maximum of {MAX_JOB_SOURCE_BYTES} and will be discarded",
            sub.source.len()
        );
        return Ok((None, vec![warning]));
    }
    Ok((Some(sub), Vec::new()))
}

/// `GET /v1/job/:id/submission?version=N`: the source job version N was registered
/// from; 404 when it was not sent, was discarded, or its version is no longer kept.
pub async fn get_submission(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    q.authz.check(q.ns(), NsCap::ReadJob)?;
    let version: u64 = match q.raw.get("version").map(String::as_str) {
        Some(v) if !v.is_empty() => v.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "version {v:?}: expected a job version, a non-negative integer"
            ))
        })?,
        _ => {
            return Err(ApiError::bad_request(
                "version: missing; name the job version whose source to read (?version=N)",
            ));
        }
    };
    let index = api.block(&q, |s| s.index(JOB_SUBMISSIONS_TABLE)).await;
    let s = api.state.read();
    find_job(&s, &q, &id)?;
    let sub = s
        .job_submission(q.ns(), &id, version)
        .ok_or_else(|| ApiError::not_found("job source not found"))?
        .clone();
    drop(s);
    Ok(api.reply(index, &sub))
}
