//! Workload identities over the API: `/.well-known/jwks.json` (the keyring's public
//! keys, so anyone can verify a task's token) and the clients' internal
//! `GET /v1/internal/node/:id/alloc/:alloc/identities` (node secret), which signs one
//! default identity per task of an allocation placed on that node.
//!
//! A request presenting such a token as its `X-Nomad-Token` is a workload caller
//! ([`super::auth`]): it may read (and list) the variables at `nomad/jobs/<job>`,
//! `nomad/jobs/<job>/<group>` and `nomad/jobs/<job>/<group>/<task>` of its namespace,
//! while its allocation exists and is not terminal.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::query::{Api, Params, Query};
use super::{ApiError, ApiState};
use crate::server::identity::{Claims, DEFAULT_AUDIENCE, jwks, sign};

/// The identity routes, merged into [`super::router`].
pub fn routes() -> axum::Router<std::sync::Arc<ApiState>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/.well-known/jwks.json", get(jwks_doc))
        .route(
            "/v1/internal/node/{id}/alloc/{alloc}/identities",
            get(identities),
        )
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks_doc(State(api): Api) -> Response {
    let doc = jwks(&api.state.read());
    let index = api
        .state
        .read()
        .index(orch_core::state::ROOT_KEYS_TABLE)
        .max(1);
    api.reply(index, &doc)
}

/// `GET /v1/internal/node/:id/alloc/:alloc/identities`: `{task: token}` for an
/// allocation of this node that is not terminal.
pub async fn identities(
    State(api): Api,
    Path((node, alloc_id)): Path<(String, String)>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = super::QueryOpts::parse(raw)?;
    if q.authz.enforced() && !q.authz.is_node(&node) {
        return Err(super::auth::permission_denied());
    }
    let (claims, index) = {
        let s = api.state.read();
        let alloc = s
            .alloc(&alloc_id)
            .filter(|a| a.node_id == node.as_str() && !a.terminal())
            .ok_or_else(|| ApiError::not_found("allocation not found on this node"))?;
        let job = s
            .job(&alloc.namespace, &alloc.job_id)
            .ok_or_else(|| ApiError::not_found("job not found"))?;
        let group = job
            .task_groups
            .iter()
            .find(|g| g.name == alloc.task_group.as_str())
            .ok_or_else(|| ApiError::not_found("task group not found"))?;
        let now = (api.now)() / 1_000_000_000;
        let claims: Vec<Claims> = group
            .tasks
            .iter()
            .map(|t| Claims {
                sub: format!(
                    "{}:{}:{}:{}:{}:default",
                    api.agent.region, alloc.namespace, alloc.job_id, group.name, t.name
                ),
                aud: vec![DEFAULT_AUDIENCE.into()],
                iat: now,
                nbf: now,
                exp: None,
                nomad_namespace: alloc.namespace.to_string(),
                nomad_job_id: alloc.job_id.to_string(),
                nomad_allocation_id: alloc.id.to_string(),
                nomad_task: t.name.clone(),
                nomad_group: group.name.clone(),
            })
            .collect();
        (claims, s.latest_index())
    };
    let key = super::keyring::active_key(&api).await?;
    let tokens: BTreeMap<String, String> = claims
        .iter()
        .map(|c| (c.nomad_task.clone(), sign(&key, c)))
        .collect();
    Ok(api.reply(index.max(1), &json!(tokens)))
}
