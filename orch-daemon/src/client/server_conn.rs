//! The client's link to the servers: registration, heartbeats, the blocking watch of
//! this node's allocations and batched allocation status updates. Any listed server
//! will do; on a connection failure the next one is tried, so a client rides through a
//! server restart or a leader change.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use orch_core::model::{Allocation, Node};
use orch_core::state::AllocClientState;
use serde_json::{Value, json};

/// Signed workload identities: by task, then by identity name.
pub type TaskIdentities = BTreeMap<String, BTreeMap<String, String>>;

/// Why a call to the servers failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// No server answered.
    #[error("no server reachable ({0}); check client.servers and that the servers run")]
    Unreachable(String),
    /// The servers do not know this node (e.g. it was garbage-collected): register again.
    #[error("the servers do not know this node; it registers again")]
    UnknownNode,
    /// A server answered with an error.
    #[error("server answered {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Body text.
        message: String,
    },
}

/// The servers of a [`ServerConn`]: as configured and as called.
struct Servers {
    addrs: Vec<String>,
    urls: Vec<String>,
}

impl Servers {
    fn new(addrs: &[String], link: &crate::tls::Link) -> Servers {
        Servers {
            addrs: addrs.to_vec(),
            urls: addrs.iter().map(|s| link.url(s, "")).collect(),
        }
    }
}

/// Talks to the servers' client endpoints (on their HTTP or RPC port).
pub struct ServerConn {
    /// The servers as configured (`host:port`) and as called (URLs); replaced by
    /// `node config -update-servers`.
    servers: std::sync::RwLock<Servers>,
    /// Builds the URLs of replaced servers (its scheme wins).
    link: crate::tls::Link,
    /// The node's secret: every call carries it as its token, so servers know the call
    /// comes from this node (and, with ACLs on, refuse one that does not).
    secret: String,
    /// The node's ID, for calls about this node.
    node_id: String,
    current: AtomicUsize,
    http: reqwest::Client,
}

impl ServerConn {
    /// `servers` are `host:port` (or `http(s)://host:port`) addresses, called through
    /// `link` (its scheme wins: one agent speaks TLS to all servers or to none);
    /// `node_id` and `secret` are the node's identity.
    pub fn new(
        servers: &[String],
        link: crate::tls::Link,
        node_id: &str,
        secret: &str,
    ) -> Result<Self, ConnError> {
        if servers.is_empty() {
            return Err(ConnError::Unreachable(
                "no servers configured: set client.servers or -servers".into(),
            ));
        }
        Ok(ServerConn {
            servers: std::sync::RwLock::new(Servers::new(servers, &link)),
            http: link.client().clone(),
            link,
            secret: secret.to_string(),
            node_id: node_id.to_string(),
            current: AtomicUsize::new(0),
        })
    }

    /// The servers this client calls, as configured (`host:port`).
    pub fn servers(&self) -> Vec<String> {
        self.servers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .addrs
            .clone()
    }

    /// Replaces the servers this client calls (Nomad's `PUT /v1/agent/servers`); an
    /// empty list is refused, the old one kept.
    pub fn set_servers(&self, addrs: &[String]) -> Result<(), ConnError> {
        if addrs.is_empty() {
            return Err(ConnError::Unreachable(
                "no servers given: name at least one server address".into(),
            ));
        }
        *self.servers.write().unwrap_or_else(|e| e.into_inner()) = Servers::new(addrs, &self.link);
        self.current.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Sends one request, trying every server once on connection failures. Returns the
    /// JSON body and the `X-Nomad-Index` header.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<(Value, u64), ConnError> {
        self.call_as(method, path, body, timeout, &self.secret)
            .await
    }

    /// A server's JSON answer as `T`; `what` names it when it does not decode.
    fn decoded<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, ConnError> {
        serde_json::from_value(v).map_err(|e| ConnError::Server {
            status: 200,
            message: format!("{what} did not decode: {e}"),
        })
    }

    /// The identities the servers sign for allocation `alloc_id`'s tasks: by task, then
    /// by identity name (`default` always).
    pub async fn identities(&self, alloc_id: &str) -> Result<TaskIdentities, ConnError> {
        let path = format!(
            "/v1/internal/node/{}/alloc/{alloc_id}/identities",
            self.node_id
        );
        let (v, _) = self
            .call(reqwest::Method::GET, &path, None, Duration::from_secs(10))
            .await?;
        Self::decoded(v, "identities")
    }

    /// The tokens of one task's identities, by identity name.
    pub async fn task_identities(
        &self,
        alloc_id: &str,
        task: &str,
    ) -> Result<BTreeMap<String, String>, ConnError> {
        let mut all = self.identities(alloc_id).await?;
        all.remove(task).ok_or_else(|| ConnError::Server {
            status: 404,
            message: format!("the servers signed no identity for task {task:?}"),
        })
    }

    /// A variable's items read with a task's identity `token`; `None` when it does not
    /// exist.
    pub async fn variable(
        &self,
        token: &str,
        namespace: &str,
        path: &str,
    ) -> Result<Option<BTreeMap<String, String>>, ConnError> {
        let url = format!("/v1/var/{path}?namespace={namespace}");
        match self
            .call_as(
                reqwest::Method::GET,
                &url,
                None,
                Duration::from_secs(10),
                token,
            )
            .await
        {
            Ok((v, _)) => Ok(serde_json::from_value(v["Items"].clone()).ok()),
            Err(ConnError::Server { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The paths under `prefix` a task's identity `token` may list.
    pub async fn variable_paths(
        &self,
        token: &str,
        namespace: &str,
        prefix: &str,
    ) -> Result<Vec<String>, ConnError> {
        let url = format!("/v1/vars?namespace={namespace}&prefix={prefix}");
        let (v, _) = self
            .call_as(
                reqwest::Method::GET,
                &url,
                None,
                Duration::from_secs(10),
                token,
            )
            .await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Path"].as_str().map(str::to_string))
            .collect())
    }

    /// [`Self::call`] presenting `token` instead of the node secret.
    async fn call_as(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
        token: &str,
    ) -> Result<(Value, u64), ConnError> {
        let mut last = String::new();
        let urls = self
            .servers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .urls
            .clone();
        for attempt in 0..urls.len() {
            let i = (self.current.load(Ordering::Relaxed) + attempt) % urls.len();
            let url = format!("{}{path}", urls[i]);
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header("X-Nomad-Token", token)
                .timeout(timeout);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{url}: {e}");
                    continue;
                }
            };
            self.current.store(i, Ordering::Relaxed);
            let status = resp.status();
            let index = resp
                .headers()
                .get("X-Nomad-Index")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let text = resp.text().await.unwrap_or_default();
            if status == reqwest::StatusCode::NOT_FOUND && text.contains("node not found") {
                return Err(ConnError::UnknownNode);
            }
            if status.is_server_error() && attempt + 1 < urls.len() {
                // A server without a leader (mid-election): another may do better.
                last = format!("{url}: {status} {text}");
                continue;
            }
            if !status.is_success() {
                return Err(ConnError::Server {
                    status: status.as_u16(),
                    message: text,
                });
            }
            let value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Ok((value, index));
        }
        Err(ConnError::Unreachable(last))
    }

    /// Registers (or re-registers) the node; returns the heartbeat TTL.
    pub async fn register(&self, node: &Node) -> Result<Duration, ConnError> {
        let (v, _) = self
            .call(
                reqwest::Method::PUT,
                "/v1/internal/node/register",
                Some(&json!({ "Node": node })),
                Duration::from_secs(10),
            )
            .await?;
        Ok(ttl_of(&v))
    }

    /// Heartbeats; returns the TTL to heartbeat within.
    pub async fn heartbeat(&self, node_id: &str) -> Result<Duration, ConnError> {
        let (v, _) = self
            .call(
                reqwest::Method::PUT,
                &format!("/v1/internal/node/{node_id}/heartbeat"),
                Some(&json!({ "Status": "ready" })),
                Duration::from_secs(5),
            )
            .await?;
        Ok(ttl_of(&v))
    }

    /// The node's allocations once the servers' index passes `after` (blocking query,
    /// up to `wait`), with that index.
    pub async fn node_allocs(
        &self,
        node_id: &str,
        after: u64,
        wait: Duration,
    ) -> Result<(Vec<Allocation>, u64), ConnError> {
        let path = format!(
            "/v1/node/{node_id}/allocations?index={after}&wait={}ms",
            wait.as_millis()
        );
        let (v, index) = self
            .call(
                reqwest::Method::GET,
                &path,
                None,
                wait + Duration::from_secs(10),
            )
            .await?;
        let allocs = Self::decoded(v, "allocation list")?;
        Ok((allocs, index))
    }

    /// Reports allocations' client state.
    pub async fn update_allocs(
        &self,
        node_id: &str,
        updates: &[AllocClientState],
    ) -> Result<(), ConnError> {
        let allocs: Vec<Value> = updates
            .iter()
            .map(|u| {
                json!({
                    "ID": u.id,
                    "ClientStatus": u.client_status,
                    "ClientDescription": u.client_description,
                    "TaskStates": u.task_states,
                    "DeploymentStatus": u.deployment_status,
                })
            })
            .collect();
        self.call(
            reqwest::Method::PUT,
            &format!("/v1/internal/node/{node_id}/allocs"),
            Some(&json!({ "Allocs": allocs })),
            Duration::from_secs(10),
        )
        .await
        .map(|_| ())
    }

    /// Registers services of running allocations and drops those of `delete_allocs`.
    pub async fn sync_services(
        &self,
        node_id: &str,
        services: &[orch_core::model::ServiceRegistration],
        delete_allocs: &[String],
    ) -> Result<(), ConnError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/v1/internal/node/{node_id}/services"),
            Some(&json!({ "Services": services, "DeleteAllocs": delete_allocs })),
            Duration::from_secs(10),
        )
        .await
        .map(|_| ())
    }

    /// The instances of a service in the catalog (templates' `nomadService`), asked as
    /// this node (the catalog is read with the node's secret, not a user token).
    pub async fn service(
        &self,
        name: &str,
    ) -> Result<Vec<orch_core::model::ServiceRegistration>, ConnError> {
        let (v, _) = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/internal/node/{}/service/{name}", self.node_id),
                None,
                Duration::from_secs(10),
            )
            .await?;
        Self::decoded(v, "service list")
    }

    /// Where the previous allocation `prev` of one of this node's allocations ran, and
    /// whether it stopped (for migrating its disk).
    pub async fn previous_alloc(
        &self,
        node_id: &str,
        prev: &str,
    ) -> Result<super::migrate::PreviousAlloc, String> {
        let (v, _) = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/internal/node/{node_id}/previous/{prev}"),
                None,
                Duration::from_secs(10),
            )
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_value(v).map_err(|e| format!("the answer did not decode: {e}"))
    }

    /// Streams `path` of another client's HTTP API (at `addr`) into the file `dest` (at
    /// most `max_bytes`), presenting this node's secret; over TLS when the servers are.
    pub async fn download_from_peer(
        &self,
        addr: &str,
        path: &str,
        dest: &std::path::Path,
        max_bytes: u64,
    ) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        // The servers' link: TLS to other clients exactly when to the servers.
        let url = self.link.url(addr, path);
        let mut resp = self
            .http
            .get(&url)
            .header("X-Nomad-Token", &self.secret)
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            return Err(format!("{url}: {status}: {text}"));
        }
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| format!("{}: {e}", dest.display()))?;
        let mut total: u64 = 0;
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            total += chunk.len() as u64;
            if total > max_bytes {
                return Err(format!("{url}: more than {max_bytes} bytes; refused"));
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| format!("{}: {e}", dest.display()))?;
        }
        file.flush().await.map_err(|e| e.to_string())
    }

    /// Reports the node's CSI plugin instances (replacing what it reported before).
    pub async fn report_csi_plugins(
        &self,
        node_id: &str,
        plugins: &orch_core::model::csi::NodeCsiPlugins,
    ) -> Result<(), ConnError> {
        let body = serde_json::to_value(plugins).unwrap_or(Value::Null);
        self.call(
            reqwest::Method::PUT,
            &format!("/v1/internal/node/{node_id}/csi/plugins"),
            Some(&body),
            Duration::from_secs(10),
        )
        .await
        .map(|_| ())
    }

    /// The CSI volume allocation `alloc_id` claims under its group's volume request
    /// `request`, with the secrets and context staging it needs.
    pub async fn claimed_volume(
        &self,
        node_id: &str,
        alloc_id: &str,
        request: &str,
    ) -> Result<orch_core::model::csi::CsiVolume, String> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("alloc", alloc_id)
            .append_pair("volume", request)
            .finish();
        let (v, _) = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/internal/node/{node_id}/csi/volume?{query}"),
                None,
                Duration::from_secs(10),
            )
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_value(v).map_err(|e| format!("the volume did not decode: {e}"))
    }

    /// Has a controller `publish` (or `unpublish`) the volume of a claim of this node;
    /// returns the publish context (empty when the plugin does not publish).
    pub async fn csi_controller(
        &self,
        node_id: &str,
        op: &str,
        alloc_id: &str,
        request: &str,
        node_external_id: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let body = json!({
            "Op": op,
            "AllocID": alloc_id,
            "Volume": request,
            "NodeExternalID": node_external_id,
        });
        let (v, _) = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/internal/node/{node_id}/csi/controller"),
                Some(&body),
                Duration::from_secs(130),
            )
            .await
            .map_err(|e| format!("controller {op} through the servers failed: {e}"))?;
        let reply: orch_core::model::csi::CsiControllerReply =
            serde_json::from_value(v).unwrap_or_default();
        Ok(reply.publish_context)
    }
}

fn ttl_of(v: &Value) -> Duration {
    let nanos = v.get("HeartbeatTTL").and_then(Value::as_u64).unwrap_or(0);
    if nanos == 0 {
        Duration::from_secs(10)
    } else {
        Duration::from_nanos(nanos)
    }
}
