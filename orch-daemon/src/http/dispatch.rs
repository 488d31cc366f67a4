//! `POST /v1/job/:id/dispatch` (parameterized jobs) and `POST /v1/job/:id/periodic/force`
//! (periodic jobs): both register a child job of a template with its evaluation.
//!
//! The checks and the child's shape live in `orch_core::dispatch` and
//! `orch_core::periodic`; this module decodes the request and proposes the child.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine;
use orch_core::dispatch::{derive_child, existing_dispatch, validate};
use orch_core::model::trigger;
use orch_core::state::{Command, JobRegister};
use serde_json::json;

use super::jobs::find_job;
use super::query::{Api, Params, Query, field, json_body};
use super::{ApiError, QueryOpts};
use crate::server::periodic::{LaunchError, launch};

/// `POST/PUT /v1/job/:id/dispatch`: `{Payload (base64), Meta, IdempotencyToken}` →
/// `{DispatchedJobID, EvalID, EvalCreateIndex, JobCreateIndex, Index}`. A token already
/// used by a child that is not dead returns that child, as Nomad does.
pub async fn dispatch(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    super::scheduler_config::check_registration_allowed(&api, &q.authz)?;
    let body = json_body(&body)?;
    let encoded: String = field(&body, "Payload")?.unwrap_or_default();
    let meta: BTreeMap<String, String> = field(&body, "Meta")?.unwrap_or_default();
    let token: String = field(&body, "IdempotencyToken")?.unwrap_or_default();
    let prefix: String = field(&body, "IdPrefixTemplate")?.unwrap_or_default();
    orch_core::dispatch::check_id_prefix(&prefix).map_err(ApiError::bad_request)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64.decode(encoded.trim().as_bytes()).map_err(|e| {
        ApiError::bad_request(format!(
            "Payload is not valid base64 ({e}); send the input bytes base64-encoded"
        ))
    })?;
    let suffix: String = api
        .new_id()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect();
    let child = {
        let s = api.state.read();
        let parent = find_job(&s, &q, &id)?;
        validate(parent, payload.len(), &meta).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if let Some(existing) = existing_dispatch(&s, &parent.namespace, &parent.id, &token) {
            let index = existing.modify_index;
            return Ok(api.reply(
                index,
                &json!({"DispatchedJobID": existing.id, "EvalID": "", "EvalCreateIndex": 0,
                        "JobCreateIndex": existing.create_index, "Index": index}),
            ));
        }
        let now = (api.now)();
        let mut child = derive_child(parent, now, &suffix, &meta, &b64.encode(&payload), &token);
        if !prefix.is_empty() {
            child.id = orch_core::dispatch::dispatched_id(&parent.id, &prefix, now, &suffix);
            child.name.clone_from(&child.id);
        }
        child
    };
    // A dispatched periodic job is itself a periodic parent: it gets no evaluation.
    let eval = (!child.is_template()).then(|| {
        api.new_eval(
            &child.namespace,
            &child.id,
            &child.job_type,
            child.priority,
            trigger::JOB_REGISTER,
        )
    });
    let child_id = child.id.clone();
    let r = api
        .replicator
        .propose(Command::JobRegister(JobRegister {
            job: child,
            eval,
            enforce_index: Some(0),
            preserve_counts: false,
            now: (api.now)(),
        }))
        .await?;
    Ok(api.reply(
        r.index,
        &json!({"DispatchedJobID": child_id, "EvalID": r.eval_id,
                "EvalCreateIndex": r.eval_create_index, "JobCreateIndex": r.index,
                "Index": r.index}),
    ))
}

/// `POST/PUT /v1/job/:id/periodic/force`: launches a child now →
/// `{EvalID, EvalCreateIndex, Index}`; 400 when the job is not an active periodic job.
pub async fn periodic_force(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    let r = launch(
        &api.state,
        api.replicator.as_ref(),
        q.ns(),
        &id,
        (api.now)(),
    )
    .await
    .map_err(|e| match e {
        LaunchError::NotFound(_) => ApiError::not_found("job not found"),
        LaunchError::NotPeriodic(_) => ApiError::bad_request(e.to_string()),
        LaunchError::Replicate(r) => r.into(),
    })?;
    Ok(api.reply(
        r.index,
        &json!({"EvalID": r.eval_id, "EvalCreateIndex": r.eval_create_index, "Index": r.index}),
    ))
}
