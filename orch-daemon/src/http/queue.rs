//! `GET /v1/queue` (an orch extension): the work waiting for capacity, in the order it
//! will get it (`orch_core::broker::queue`: job priority, then the namespace's weighted
//! dominant share, then age), with each job's position, priority, namespace, share and
//! the reason it waits.
//!
//! Read from the replicated state (the blocked evaluations, one per job), so every
//! server answers the same. Positions are global: a caller who may read only some
//! namespaces sees their jobs with their true place in the whole queue. The namespace
//! filter is Nomad's (`?namespace=`, `default` when absent, `*` for all).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use orch_core::broker::queue::{self, FairShare, Waiting};
use orch_core::broker::unplaced_of;
use orch_core::model::{Evaluation, eval_status};
use orch_core::state::{StateStore, ns_table, table};
use serde::Serialize;

use super::ApiError;
use super::query::{Api, Params, Query, blocking_read};

/// One waiting job.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    /// 1 is the next to get capacity.
    position: usize,
    #[serde(rename = "JobID")]
    job_id: String,
    namespace: String,
    priority: i32,
    #[serde(rename = "EvalID")]
    eval_id: String,
    #[serde(rename = "Type")]
    eval_type: String,
    /// Raft index at which the job started waiting.
    waiting_since_index: u64,
    /// Creation time (Unix nanos) of the blocked evaluation.
    create_time: i64,
    /// The namespace's weighted dominant share (what the queue orders by after priority).
    share: f64,
    weight: u32,
    /// Allocations still to place, per group.
    unplaced: BTreeMap<String, u64>,
    /// Why it waits, in words.
    reason: String,
    /// Dimensions exhausted on nodes, summed over its groups (Nomad's metric names).
    dimension_exhausted: BTreeMap<String, u64>,
}

/// One namespace with waiting work.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct NamespaceRow {
    name: String,
    weight: u32,
    /// CPU MHz its live allocations hold.
    #[serde(rename = "CPU")]
    cpu: u64,
    #[serde(rename = "MemoryMB")]
    memory_mb: u64,
    /// The larger of its CPU and memory fractions of the cluster.
    dominant_share: f64,
    /// `DominantShare / Weight`.
    share: f64,
    waiting: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct QueueView {
    /// What the ready nodes offer.
    #[serde(rename = "CPU")]
    cpu: u64,
    #[serde(rename = "MemoryMB")]
    memory_mb: u64,
    namespaces: Vec<NamespaceRow>,
    waiting: Vec<Entry>,
}

/// Evaluations, allocations (shares), namespaces (weights) and nodes (capacity).
fn queue_index(s: &StateStore) -> u64 {
    s.index(table::EVALS)
        .max(s.index(table::ALLOCS))
        .max(s.index(ns_table::NAMESPACES))
        .max(s.index(table::NODES))
}

/// The newest blocked evaluation of each job (a job has one; a duplicate may linger
/// until the leader cancels it).
fn blocked_by_job(s: &StateStore) -> Vec<&Evaluation> {
    let mut by_job: BTreeMap<(&str, &str), &Evaluation> = BTreeMap::new();
    for e in s.evals().filter(|e| e.status == eval_status::BLOCKED) {
        let slot = by_job
            .entry((e.namespace.as_str(), e.job_id.as_str()))
            .or_insert(e);
        if e.create_index > slot.create_index {
            *slot = e;
        }
    }
    by_job.into_values().collect()
}

fn view(s: &StateStore, sees: impl Fn(&str) -> bool) -> QueueView {
    let blocked = blocked_by_job(s);
    let share = FairShare::from_state(s, blocked.iter().map(|e| e.namespace.as_str()));
    let waiting = blocked.iter().map(|e| Waiting {
        eval: e,
        since: queue::waiting_since(s, e),
    });
    let ranked = queue::rank(waiting, &share);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut entries = Vec::new();
    for (i, w) in ranked.iter().enumerate() {
        let e = w.eval;
        if !sees(&e.namespace) {
            continue;
        }
        *counts.entry(e.namespace.as_str()).or_default() += 1;
        let mut dims = BTreeMap::new();
        for m in e.failed_tg_allocs.values() {
            for (d, n) in m.dimension_exhausted.iter() {
                *dims.entry(d.clone()).or_default() += *n;
            }
        }
        entries.push(Entry {
            position: i + 1,
            job_id: e.job_id.clone(),
            namespace: e.namespace.clone(),
            priority: e.priority,
            eval_id: e.id.clone(),
            eval_type: e.eval_type.clone(),
            waiting_since_index: w.since,
            create_time: e.create_time,
            share: share.share(&e.namespace),
            weight: share.weight(&e.namespace),
            unplaced: unplaced_of(e),
            reason: queue::wait_reason(e),
            dimension_exhausted: dims,
        });
    }
    let namespaces = counts
        .into_iter()
        .map(|(ns, waiting)| {
            let n = share.namespaces.get(ns).copied().unwrap_or_default();
            NamespaceRow {
                name: ns.to_owned(),
                weight: n.weight,
                cpu: n.cpu_mhz,
                memory_mb: n.memory_mb,
                dominant_share: share.dominant_share(ns),
                share: share.share(ns),
                waiting,
            }
        })
        .collect();
    QueueView {
        cpu: share.cpu_mhz,
        memory_mb: share.memory_mb,
        namespaces,
        waiting: entries,
    }
}

/// `GET /v1/queue?namespace=`: the waiting work the caller may read, in queue order.
pub async fn list(State(api): Api, Query(raw): Params) -> Result<Response, ApiError> {
    blocking_read(&api, raw, queue_index, |s, q| Ok(view(s, |ns| q.sees(ns)))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_state_has_an_empty_queue() {
        let s = StateStore::new();
        let v = view(&s, |_| true);
        assert!(v.waiting.is_empty() && v.namespaces.is_empty());
    }
}
