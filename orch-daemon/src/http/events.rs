//! `GET /v1/event/stream`: Nomad's event stream as newline-delimited JSON. Each line is
//! one committed command's events that pass the subscription's topic and namespace
//! filters (`{"Index": N, "Events": [...]}`), or `{}` as a heartbeat every 10 s so
//! clients and proxies keep the connection open.
//!
//! Parameters: `topic=Topic[:key]` (repeatable; `*` for all topics or keys; the key
//! matches the object ID or its filter keys such as the job ID), `index=` (start with
//! buffered events at or after that index), `namespace=` (`default`; `*` all).

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::Response;
use tokio::sync::broadcast::error::RecvError;

use super::ApiError;
use super::auth::Authz;
use super::query::Api;
use crate::server::events::{EventBatch, Subscription, topic};

/// How often an idle stream sends `{}` (Nomad's 10 s).
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Topics Nomad has that orch does not publish: subscribing to them is refused rather
/// than answered with a stream that stays silent forever.
const UNSUPPORTED_TOPICS: &[&str] = &["ACLAuthMethod", "ACLBindingRule", "HostVolume"];

/// What a subscriber asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Topic (or `*`) to keys (`*` or IDs).
    pub topics: BTreeMap<String, Vec<String>>,
    /// Namespace, or `*` for all.
    pub namespace: String,
}

impl Filter {
    /// Parses the query pairs; a malformed index or an unknown topic is a 400.
    pub fn parse(pairs: &[(String, String)]) -> Result<(Filter, u64), ApiError> {
        let mut topics: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut namespace = "default".to_string();
        let mut index = 0;
        for (k, v) in pairs {
            match k.as_str() {
                "topic" => {
                    let (t, key) = v.split_once(':').unwrap_or((v.as_str(), "*"));
                    if UNSUPPORTED_TOPICS.contains(&t) {
                        return Err(ApiError::not_implemented(&format!("The {t} event topic")));
                    }
                    if t != "*" && !topic::ALL.contains(&t) {
                        return Err(ApiError::bad_request(format!(
                            "invalid topic {t:?}: use one of {} or * (as topic=Job:my-job)",
                            topic::ALL.join(", ")
                        )));
                    }
                    let key = if key.is_empty() { "*" } else { key };
                    topics.entry(t.to_string()).or_default().push(key.into());
                }
                "index" if !v.is_empty() => {
                    index = v.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "Invalid index {v:?}: index must be a non-negative integer (the Index of an event)"
                        ))
                    })?;
                }
                "namespace" if !v.is_empty() => namespace = v.clone(),
                _ => {}
            }
        }
        if topics.is_empty() {
            topics.insert("*".into(), vec!["*".into()]);
        }
        Ok((Filter { topics, namespace }, index))
    }

    /// The line to send for a batch: its matching events the caller may see, or `None`
    /// if none match.
    pub fn render(&self, batch: &EventBatch, authz: &Authz) -> Option<Bytes> {
        let events: Vec<_> = batch
            .events
            .iter()
            .filter(|e| visible(e, authz))
            .filter(|e| {
                self.namespace == "*" || e.namespace.is_empty() || e.namespace == self.namespace
            })
            .filter(|e| {
                [e.topic, "*"].iter().any(|t| {
                    self.topics
                        .get(*t)
                        .is_some_and(|keys| keys.iter().any(|k| e.matches_key(k)))
                })
            })
            .collect();
        if events.is_empty() {
            return None;
        }
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Line<'a> {
            index: u64,
            events: Vec<&'a crate::server::events::Event>,
        }
        let mut line = serde_json::to_vec(&Line {
            index: batch.index,
            events,
        })
        .ok()?;
        line.push(b'\n');
        Some(Bytes::from(line))
    }
}

/// Whether the caller may see an event: node events need `node` read, namespaced ones
/// `read-job` in their namespace, the rest a management token.
fn visible(e: &crate::server::events::Event, authz: &Authz) -> bool {
    if e.topic == topic::NODE {
        authz.node_read()
    } else if e.topic == topic::NODE_POOL {
        authz.node_pool_level(&e.key).allows_read()
    } else if e.topic == topic::OPERATOR {
        authz.operator_read()
    } else if e.topic == topic::CSI_PLUGIN {
        authz.plugin_read()
    } else if e.topic == topic::VARIABLE {
        // Nomad's rule for the topic: variables are read by path, not by namespace.
        authz.is_management()
    } else if e.topic == topic::CSI_VOLUME {
        authz.allows(&e.namespace, orch_core::acl::NsCap::CsiReadVolume)
    } else if e.topic == topic::RELEASE {
        let namespaces = crate::server::events::release::job_namespaces(e);
        namespaces
            .iter()
            .all(|ns| authz.allows(ns, orch_core::acl::NsCap::ReadJob))
    } else if !e.namespace.is_empty() {
        authz.allows(&e.namespace, orch_core::acl::NsCap::ReadJob)
    } else {
        authz.is_management()
    }
}

struct Stream {
    authz: Authz,
    replay: VecDeque<Arc<EventBatch>>,
    live: tokio::sync::broadcast::Receiver<Arc<EventBatch>>,
    filter: Filter,
    heartbeat: Duration,
    done: bool,
}

impl Stream {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if self.done {
            return None;
        }
        let beat = tokio::time::Instant::now() + self.heartbeat;
        loop {
            let batch = match self.replay.pop_front() {
                Some(b) => b,
                None => tokio::select! {
                    r = self.live.recv() => match r {
                        Ok(b) => b,
                        Err(RecvError::Lagged(n)) => {
                            // Too slow to keep up: end the stream so the client
                            // resubscribes from its last index (Nomad closes it too).
                            tracing::warn!(missed = n, "event stream subscriber fell behind; closing it");
                            self.done = true;
                            return None;
                        }
                        Err(RecvError::Closed) => return None,
                    },
                    _ = tokio::time::sleep_until(beat) => {
                        return Some((Ok(Bytes::from_static(b"{}\n")), self));
                    }
                },
            };
            if let Some(line) = self.filter.render(&batch, &self.authz) {
                return Some((Ok(line), self));
            }
        }
    }
}

/// Event stream subscriptions one agent serves at once, at most: each holds a buffer of
/// batches and a connection, so an unbounded number would exhaust the agent.
pub const MAX_SUBSCRIBERS: usize = 256;

/// The response body of a subscription: matching batches as lines, heartbeats between.
pub fn body(sub: Subscription, filter: Filter, authz: Authz, heartbeat: Duration) -> Body {
    let st = Stream {
        authz,
        replay: sub.replay,
        live: sub.live,
        filter,
        heartbeat,
        done: false,
    };
    Body::from_stream(futures_util::stream::unfold(st, Stream::next))
}

/// `GET /v1/event/stream`.
pub async fn stream(
    State(api): Api,
    authz: super::auth::Authz,
    axum::extract::Query(pairs): axum::extract::Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (filter, index) = Filter::parse(&pairs)?;
    if api.state.events().subscribers() >= MAX_SUBSCRIBERS {
        return Err(ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            format!(
                "this agent already serves {MAX_SUBSCRIBERS} event streams; close one or subscribe through another agent"
            ),
        ));
    }
    let sub = api.state.events().subscribe(index);
    let mut resp = Response::new(body(sub, filter, authz, HEARTBEAT));
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests;
