//! `/v1/plugins?type=csi` and `/v1/plugin/csi/:id`: CSI plugins as the clients
//! running them report them (`StateStore::csi_plugins`).

use axum::extract::{Path, State};
use axum::response::Response;
use orch_core::state::{StateStore, csi_table, table};
use serde_json::{Value, json};

use super::ApiError;
use super::query::{Api, Params, Query, blocking_read};

fn plugins_index(s: &StateStore) -> u64 {
    s.index(csi_table::PLUGINS)
        .max(s.index(table::NODES))
        .max(s.index(csi_table::VOLUMES))
}

/// `GET /v1/plugins?type=csi&prefix=`.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    blocking_read(&api, raw, plugins_index, |s, q| {
        match q.raw.get("type").map(String::as_str) {
            None | Some("") | Some("csi") => {}
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "type={other:?}: orch has CSI plugins only (type=csi)"
                )));
            }
        }
        let index = s.index(csi_table::PLUGINS);
        Ok(s.csi_plugins()
            .values()
            .filter(|p| p.id.starts_with(&q.prefix))
            .map(|p| p.stub_json(index))
            .collect::<Vec<Value>>())
    })
    .await
}

/// `GET /v1/plugin/csi/:id`: the plugin with every instance, its allocations and the
/// volumes that use it.
pub async fn get_plugin(
    State(api): Api,
    Path(id): Path<String>,
    Query(raw): Params,
) -> Result<Response, ApiError> {
    blocking_read(&api, raw, plugins_index, move |s, q| {
        let plugins = s.csi_plugins();
        let p = plugins
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("plugin {id:?} not found")))?;
        let index = s.index(csi_table::PLUGINS);
        let mut out = p.stub_json(index);
        let allocs: Vec<Value> = p
            .controllers
            .values()
            .chain(p.nodes.values())
            .map(|i| i.alloc_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter_map(|a| s.alloc_stub(a))
            .filter(|a| q.sees(&a.namespace))
            .map(|a| super::allocs::alloc_stub(s, a))
            .collect();
        let volumes = s
            .csi_volumes()
            .filter(|v| v.plugin_id == id && q.sees(&v.namespace))
            .count();
        if let Value::Object(m) = &mut out {
            m.insert("Version".into(), json!(p.version));
            m.insert("Controllers".into(), json!(p.controllers));
            m.insert("Nodes".into(), json!(p.nodes));
            m.insert("Allocations".into(), Value::Array(allocs));
            m.insert("Volumes".into(), json!(volumes));
        }
        Ok(out)
    })
    .await
}
