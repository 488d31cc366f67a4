//! The keyring as the API uses it: `/v1/operator/keyring/keys` (list),
//! `/v1/operator/keyring/rotate` (with `full`: re-encrypt every variable),
//! `DELETE /v1/operator/keyring/key/:id`, and the helpers the variable endpoints seal
//! and open items with (see [`crate::server::keyring`] for where keys live and why).
//!
//! The first write that needs a key creates one: this server generates it, stores it in
//! its keystore, and proposes its metadata (`RootKeyUpsert`), so a fresh cluster needs
//! no bootstrap step.

use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine;
use orch_core::model::variable::{RootKeyMeta, RootKeyState, VariableEncrypted};
use orch_core::state::{Command, ROOT_KEYS_TABLE, RootKeyDelete, RootKeyUpsert, VarApply, VarOp};
use serde_json::{Map, Value, json};

use super::query::{Api, Params, Query};
use super::{ApiError, ApiState};
use crate::server::keyring::{ALGORITHM, KeyringError, RootKey, fetch_from_peers};

/// The keyring routes, merged into [`super::router`].
pub fn routes() -> axum::Router<std::sync::Arc<ApiState>> {
    use axum::routing::{delete, get, post};
    axum::Router::new()
        .route("/v1/operator/keyring/keys", get(list))
        .route("/v1/operator/keyring/rotate", post(rotate).put(rotate))
        .route("/v1/operator/keyring/key/{id}", delete(remove))
}

fn keyring_err(e: KeyringError) -> ApiError {
    ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Nomad's `RootKeyMeta` JSON, with the public key orch adds for identities.
pub fn meta_json(k: &RootKeyMeta) -> Value {
    json!({
        "KeyID": k.key_id,
        "Algorithm": k.algorithm,
        "CreateTime": k.create_time,
        "CreateIndex": k.create_index,
        "ModifyIndex": k.modify_index,
        "State": k.state.as_str(),
        "PublicKey": base64::engine::general_purpose::STANDARD.encode(&k.public_key),
    })
}

/// The material of the key `meta` names: from this server's keystore, else a peer's.
pub async fn key_for(api: &ApiState, meta: &RootKeyMeta) -> Result<RootKey, ApiError> {
    if let Some(k) = api.keyring.get(&meta.key_id) {
        return Ok(k);
    }
    let peers: Vec<String> = api
        .replicator
        .members()
        .into_iter()
        .map(|m| m.addr)
        .collect();
    fetch_from_peers(
        &api.keyring,
        &api.peers,
        &peers,
        &meta.key_id,
        &meta.public_key,
    )
    .await
    .map_err(keyring_err)
}

/// The key a variable was sealed with.
pub async fn key_by_id(api: &ApiState, id: &str) -> Result<RootKey, ApiError> {
    let meta = api.state.read().root_key(id).cloned();
    let meta = meta.ok_or_else(|| keyring_err(KeyringError::Missing(id.to_string())))?;
    key_for(api, &meta).await
}

/// The active key, created (and proposed) when the keyring is empty.
pub async fn active_key(api: &ApiState) -> Result<RootKey, ApiError> {
    let meta = api.state.read().active_root_key().cloned();
    match meta {
        Some(m) => key_for(api, &m).await,
        None => new_active_key(api).await,
    }
}

async fn new_active_key(api: &ApiState) -> Result<RootKey, ApiError> {
    let key = RootKey::generate(api.new_id()).map_err(keyring_err)?;
    api.keyring.add(key.clone()).map_err(keyring_err)?;
    let meta = RootKeyMeta {
        key_id: key.id.clone(),
        algorithm: ALGORITHM.into(),
        create_time: (api.now)(),
        state: RootKeyState::Active,
        public_key: key.public_key().to_vec(),
        ..RootKeyMeta::default()
    };
    api.replicator
        .propose(Command::RootKeyUpsert(RootKeyUpsert { key: meta }))
        .await?;
    Ok(key)
}

/// What items are bound to: a ciphertext moved to another variable does not open.
pub fn aad(namespace: &str, path: &str) -> Vec<u8> {
    format!("{namespace}\0{path}").into_bytes()
}

/// A variable's items, decrypted.
pub async fn open_items(
    api: &ApiState,
    v: &VariableEncrypted,
) -> Result<Map<String, Value>, ApiError> {
    let key = key_by_id(api, &v.key_id).await?;
    let plain = key
        .open(&aad(&v.namespace, &v.path), &v.nonce, &v.ciphertext)
        .map_err(keyring_err)?;
    serde_json::from_slice(&plain).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("variable items are not JSON after decryption: {e}"),
        )
    })
}

/// `GET /v1/operator/keyring/keys`: every root key's metadata.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let q = super::QueryOpts::parse(raw)?;
    q.authz.check_management()?;
    let index = api.block(&q, |s| s.index(ROOT_KEYS_TABLE).max(1)).await;
    let keys: Vec<Value> = api.state.read().root_keys().map(meta_json).collect();
    Ok(api.reply(index, &keys))
}

/// `PUT /v1/operator/keyring/rotate[?full=true]`: a new active key; `full` re-seals
/// every variable with it (each with check-and-set, so a concurrent write wins).
pub async fn rotate(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    let q = super::QueryOpts::parse(raw)?;
    q.authz.check_management()?;
    let full = q.flag("full")?;
    let key = new_active_key(&api).await?;
    if full {
        let vars: Vec<VariableEncrypted> = api
            .state
            .read()
            .variables()
            .filter(|v| v.key_id != key.id)
            .cloned()
            .collect();
        for v in vars {
            reseal(&api, &key, v).await?;
        }
    }
    let meta = api
        .state
        .read()
        .root_key(&key.id)
        .cloned()
        .unwrap_or_default();
    let index = api.state.read().index(ROOT_KEYS_TABLE);
    Ok(api.reply(index, &json!({ "Key": meta_json(&meta), "Index": index })))
}

async fn reseal(api: &ApiState, key: &RootKey, v: VariableEncrypted) -> Result<(), ApiError> {
    let items = open_items(api, &v).await?;
    let plain = serde_json::to_vec(&items).unwrap_or_default();
    let (nonce, ciphertext) = key
        .seal(&aad(&v.namespace, &v.path), &plain)
        .map_err(keyring_err)?;
    let check_index = Some(v.modify_index);
    let var = VariableEncrypted {
        key_id: key.id.clone(),
        nonce,
        ciphertext,
        ..v
    };
    let cmd = Command::VarApply(VarApply {
        op: VarOp::Set,
        var,
        check_index,
        now: (api.now)(),
    });
    match api.replicator.propose(cmd).await {
        Ok(_) => Ok(()),
        // Changed meanwhile: the new write used the new key already.
        Err(crate::server::ReplicateError::Rejected(orch_core::state::StateError::Conflict(_))) => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /v1/operator/keyring/key/:id`: an inactive key no variable uses.
pub async fn remove(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    let q = super::QueryOpts::parse(raw)?;
    q.authz.check_management()?;
    if api.state.read().root_key(&id).is_none() {
        return Err(ApiError::not_found(format!("root key {id:?} not found")));
    }
    let r = api
        .replicator
        .propose(Command::RootKeyDelete(RootKeyDelete { key_id: id.clone() }))
        .await?;
    api.keyring.remove(&id);
    Ok(api.reply(r.index, &json!({ "Index": r.index })))
}
