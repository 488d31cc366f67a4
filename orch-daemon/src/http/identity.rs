//! Workload identities over the API: `/.well-known/jwks.json` (the keyring's public
//! keys, so anyone can verify a task's token) and the clients' internal
//! `GET /v1/internal/node/:id/alloc/:alloc/identities` (node secret), which signs every
//! identity of every task of an allocation placed on that node.
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
use crate::server::identity::{Claims, jwks, sign, task_claims};

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

/// `GET /v1/internal/node/:id/alloc/:alloc/identities`: `{task: {identity: token}}` for
/// an allocation of this node that is not terminal: every task's default identity and
/// its named ones, signed now (the client asks again to renew those with a TTL).
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
        // The allocation's own version of the job: its tasks are what runs.
        let job = match alloc.job.as_deref() {
            Some(j) => j,
            None => s
                .job(&alloc.namespace, &alloc.job_id)
                .ok_or_else(|| ApiError::not_found("job not found"))?,
        };
        let group = job
            .task_groups
            .iter()
            .find(|g| g.name == alloc.task_group.as_str())
            .ok_or_else(|| ApiError::not_found("task group not found"))?;
        let now = (api.now)() / 1_000_000_000;
        let claims: Vec<(String, Vec<(String, Claims)>)> = group
            .tasks
            .iter()
            .map(|t| {
                let c = task_claims(&api.agent.region, &alloc, &group.name, t, now);
                (t.name.clone(), c)
            })
            .collect();
        (claims, s.latest_index())
    };
    let key = super::keyring::active_key(&api).await?;
    let tokens: BTreeMap<String, BTreeMap<String, String>> = claims
        .into_iter()
        .map(|(task, ids)| {
            let signed = ids
                .iter()
                .map(|(n, c)| (n.clone(), sign(&key, c)))
                .collect();
            (task, signed)
        })
        .collect();
    Ok(api.reply(index.max(1), &json!(tokens)))
}
