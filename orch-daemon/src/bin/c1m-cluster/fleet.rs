//! The simulated client fleet: c1m's nodes registered over the client endpoints an orch
//! client uses (`PUT /v1/internal/node/register`, then
//! `PUT /v1/internal/node/{id}/heartbeat` with the node's secret), each heartbeating
//! at a third of the TTL the servers answer, as `client::Client` does. A few tokio
//! tasks carry the whole fleet: each keeps its nodes' next heartbeats in a heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What the fleet did, counted as it goes.
#[derive(Default)]
pub struct FleetStats {
    /// Nodes registered.
    pub registered: AtomicUsize,
    /// Registrations refused or unanswered (each retried).
    pub register_errors: AtomicU64,
    /// Heartbeats answered.
    pub heartbeats: AtomicU64,
    /// Heartbeats refused or unanswered.
    pub heartbeat_errors: AtomicU64,
    /// The longest TTL a server answered, in milliseconds.
    pub max_ttl_ms: AtomicU64,
}

/// The node secret of node `i` (the servers check it on every heartbeat).
fn secret(i: usize) -> String {
    format!("{i:08x}-0000-4000-9000-{i:012x}")
}

/// The registration body of c1m node `i`, as an orch client sends it.
pub fn register_body(i: usize) -> String {
    let mut node = orch_benches::c1m_node(i);
    node.secret_id = secret(i);
    json!({ "Node": node }).to_string()
}

/// The TTL of a register or heartbeat answer (`HeartbeatTTL`, nanoseconds).
fn ttl_of(v: &Value) -> Option<Duration> {
    v.get("HeartbeatTTL")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .map(Duration::from_nanos)
}

/// One PUT of a client endpoint; the TTL it answers.
async fn put(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: String,
) -> Result<Duration, String> {
    let mut req = client
        .put(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.header("X-Nomad-Token", t);
    }
    let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {text}"));
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))?;
    ttl_of(&v).ok_or_else(|| format!("{url}: no HeartbeatTTL in {text}"))
}

/// The running fleet: heartbeat tasks, fed with nodes as they register.
pub struct Fleet {
    /// What it did so far.
    pub stats: Arc<FleetStats>,
    feeds: Vec<mpsc::UnboundedSender<(usize, Duration)>>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    client: reqwest::Client,
    urls: Arc<Vec<String>>,
}

impl Fleet {
    /// Starts `tasks` heartbeat tasks for nodes `0..nodes`; node `i` talks to
    /// `urls[i % urls.len()]`.
    pub fn start(client: reqwest::Client, urls: Vec<String>, nodes: usize, tasks: usize) -> Fleet {
        let stats = Arc::new(FleetStats::default());
        let urls = Arc::new(urls);
        let ids: Arc<Vec<String>> =
            Arc::new((0..nodes).map(|i| orch_benches::c1m_node(i).id).collect());
        let (stop, stopped) = watch::channel(false);
        let mut set = JoinSet::new();
        let mut feeds = Vec::new();
        for _ in 0..tasks.max(1) {
            let (tx, rx) = mpsc::unbounded_channel();
            feeds.push(tx);
            set.spawn(heartbeat_task(
                client.clone(),
                Arc::clone(&urls),
                Arc::clone(&ids),
                Arc::clone(&stats),
                rx,
                stopped.clone(),
            ));
        }
        Fleet {
            stats,
            feeds,
            stop,
            tasks: set,
            client,
            urls,
        }
    }

    /// Registers nodes `0..nodes` with `concurrency` registrations in flight; each
    /// registered node starts heartbeating at once. A refused registration is retried
    /// (up to 5 times, 200 ms apart) before the run fails.
    pub async fn register(&self, nodes: usize, concurrency: usize) -> Result<(), String> {
        let next = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..concurrency.max(1) {
            let (next, client, urls, stats) = (
                Arc::clone(&next),
                self.client.clone(),
                Arc::clone(&self.urls),
                Arc::clone(&self.stats),
            );
            let feeds = self.feeds.clone();
            set.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= nodes {
                        return Ok::<(), String>(());
                    }
                    let url = format!("{}/v1/internal/node/register", urls[i % urls.len()]);
                    let ttl = register_one(&client, &url, i, &stats).await?;
                    stats.registered.fetch_add(1, Ordering::Relaxed);
                    let _ = feeds[i % feeds.len()].send((i, ttl));
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.map_err(|e| e.to_string())??;
        }
        Ok(())
    }

    /// Stops the heartbeats.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Registers node `i` at `url`, retrying a refusal; its TTL.
async fn register_one(
    client: &reqwest::Client,
    url: &str,
    i: usize,
    stats: &FleetStats,
) -> Result<Duration, String> {
    let mut last = String::new();
    for _ in 0..5 {
        match put(client, url, None, register_body(i)).await {
            Ok(ttl) => {
                stats
                    .max_ttl_ms
                    .fetch_max(ttl.as_millis() as u64, Ordering::Relaxed);
                return Ok(ttl);
            }
            Err(e) => {
                if stats.register_errors.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("c1m-cluster: first refused registration: {e}");
                }
                last = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Err(format!("registering node {i}: {last}"))
}

/// Heartbeats the nodes fed to it, each at a third of its last TTL (as
/// `client::Client` does), until `stop`.
async fn heartbeat_task(
    client: reqwest::Client,
    urls: Arc<Vec<String>>,
    ids: Arc<Vec<String>>,
    stats: Arc<FleetStats>,
    mut feed: mpsc::UnboundedReceiver<(usize, Duration)>,
    mut stop: watch::Receiver<bool>,
) {
    let mut due: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
    let far = || Instant::now() + Duration::from_secs(3600);
    loop {
        let next = due.peek().map_or_else(far, |Reverse((at, _))| *at);
        tokio::select! {
            _ = stop.changed() => return,
            fed = feed.recv() => {
                if let Some((i, ttl)) = fed {
                    due.push(Reverse((Instant::now() + ttl / 3, i)));
                }
            }
            _ = tokio::time::sleep_until(next) => {
                let Some(Reverse((_, i))) = due.pop() else { continue };
                let Some(id) = ids.get(i) else { continue };
                let url = format!("{}/v1/internal/node/{id}/heartbeat", urls[i % urls.len()]);
                let body = json!({ "Status": "ready" }).to_string();
                let ttl = match put(&client, &url, Some(&secret(i)), body).await {
                    Ok(ttl) => {
                        stats.heartbeats.fetch_add(1, Ordering::Relaxed);
                        stats.max_ttl_ms.fetch_max(ttl.as_millis() as u64, Ordering::Relaxed);
                        ttl
                    }
                    Err(_) => {
                        stats.heartbeat_errors.fetch_add(1, Ordering::Relaxed);
                        Duration::from_secs(3)
                    }
                };
                due.push(Reverse((Instant::now() + ttl / 3, i)));
            }
        }
    }
}
