//! The leader's horizontal autoscaler, the async shell of
//! `orch_core::leader::autoscaler` (which the simulator drives too): every group with an
//! enabled `scaling { policy }` is evaluated each `evaluation_interval`: its checks'
//! sources are queried ([`sources`]), the core decides the new count, and a change goes
//! through the same `JobScale` command (plus evaluation) as `PUT /v1/job/:id/scale`, with
//! a scaling event.
//!
//! Runs only while this server leads. The cooldown comes from the group's replicated
//! scaling events (the latest count change), so a new leader neither acts twice nor
//! forgets a cooldown. Per-policy status (last evaluation, last error, each check's view)
//! is kept in memory on the leader for `/v1/scaling/policy/:id` and `/v1/metrics`.
//!
//! Modules: [`sources`] (the metric sources) and `tests` (unit tests).

pub mod cluster;
pub mod sources;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orch_core::autoscale::Source;
use orch_core::leader::autoscaler::{
    PolicyClock, ScalingTarget, decide, enabled_policies, gate, scale_command,
};
use serde_json::{Value, json};

use super::{Replicator, StateHandle};
use crate::clock::{new_uuid, now_nanos};

/// How often the loop looks for policies that are due.
const TICK: Duration = Duration::from_millis(250);

/// The agent's `autoscaler { ... }` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoscalerConfig {
    /// Base URL of the Prometheus server `prometheus` checks query
    /// (`http://127.0.0.1:9090`); checks using it fail with a clear error when unset.
    pub prometheus_address: Option<String>,
    /// The cluster-scaling policies (`autoscaler { cluster "<name>" { ... } }`).
    pub cluster: Vec<cluster::ClusterHook>,
}

/// What the autoscaler last did with one policy (orch's `Status` extension of Nomad's
/// `ScalingPolicy`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyStatus {
    /// Unix nanoseconds of the last evaluation.
    pub last_evaluated: i64,
    /// `ok`, `cooldown`, `error` or `scaled`.
    pub state: String,
    /// Why nothing happened or what was done.
    pub reason: String,
    /// The failing checks' errors, or the scale command's, from the last evaluation.
    pub last_error: Option<String>,
    /// Each check's metric, direction and error from the last evaluation.
    pub checks: Vec<Value>,
    /// Evaluations whose sources failed, since this server became leader.
    pub errors_total: u64,
    /// Scaling actions taken, since this server became leader.
    pub actions_total: u64,
}

impl PolicyStatus {
    /// The `Status` object of the policy's JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "LastEvaluated": self.last_evaluated, "State": self.state, "Reason": self.reason,
            "LastError": self.last_error, "Checks": self.checks,
            "ErrorsTotal": self.errors_total, "ActionsTotal": self.actions_total,
        })
    }
}

/// The autoscaler; one per server, active only on the leader.
pub struct Autoscaler {
    state: StateHandle,
    replicator: Arc<dyn Replicator>,
    config: AutoscalerConfig,
    http: reqwest::Client,
    status: Mutex<BTreeMap<String, PolicyStatus>>,
}

/// The group a metric is read for (`nomad-apm` measures its allocations).
#[derive(Debug, Clone, Copy)]
pub struct MetricTarget<'a> {
    /// Namespace of the job.
    pub namespace: &'a str,
    /// The job.
    pub job_id: &'a str,
    /// The group.
    pub group: &'a str,
}

impl Autoscaler {
    /// An autoscaler over the state, writing through `replicator`.
    pub fn new(
        state: StateHandle,
        replicator: Arc<dyn Replicator>,
        config: AutoscalerConfig,
    ) -> Self {
        Autoscaler {
            state,
            replicator,
            config,
            http: crate::tls::http_client(),
            status: Mutex::new(BTreeMap::new()),
        }
    }

    /// The policy's status on this server (`None` when it has not evaluated it, e.g. on
    /// a follower).
    pub fn status(&self, policy_id: &str) -> Option<PolicyStatus> {
        self.lock().get(policy_id).cloned()
    }

    /// Every policy's status, by policy ID.
    pub fn statuses(&self) -> BTreeMap<String, PolicyStatus> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, PolicyStatus>> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The loop: while leading, evaluates each policy when its interval has passed.
    pub async fn run(self: Arc<Self>) {
        let mut clock = PolicyClock::default();
        loop {
            tokio::time::sleep(TICK).await;
            if !self.replicator.is_leader() {
                clock.clear();
                self.lock().clear();
                continue;
            }
            let now = now_nanos();
            let policies = enabled_policies(&self.state.read());
            self.lock()
                .retain(|id, _| policies.iter().any(|p| &p.id == id));
            for i in clock.due(&policies, now) {
                self.evaluate(&policies[i]).await;
            }
        }
    }

    /// Reads one metric from `source`, as a scaling check does. The deployment
    /// watcher's metric gates read theirs here too, so orch has one Prometheus client
    /// and one `nomad-apm` reader.
    pub async fn read_metric(
        &self,
        source: Source,
        target: MetricTarget<'_>,
        query: &str,
        window_ns: Option<i64>,
        now: i64,
    ) -> Result<f64, sources::SourceError> {
        match source {
            Source::Nomad => {
                sources::nomad(
                    &self.http,
                    &self.state,
                    target.namespace,
                    target.job_id,
                    target.group,
                    query,
                )
                .await
            }
            Source::Prometheus => {
                sources::prometheus(
                    &self.http,
                    self.config.prometheus_address.as_deref(),
                    query,
                    window_ns,
                    now,
                )
                .await
            }
        }
    }

    /// Each check's metric, in the policy's order.
    async fn read_checks(&self, p: &ScalingTarget, now: i64) -> Vec<Result<f64, String>> {
        let mut values = Vec::new();
        for c in &p.policy.checks {
            let target = MetricTarget {
                namespace: &p.namespace,
                job_id: &p.job_id,
                group: &p.group,
            };
            let v = self
                .read_metric(c.source, target, &c.query, c.query_window_ns, now)
                .await;
            values.push(v.map_err(|e| e.to_string()));
        }
        values
    }

    /// The enabled policies now (the unit tests evaluate them one by one).
    #[cfg(test)]
    fn enabled_policies(&self) -> Vec<ScalingTarget> {
        enabled_policies(&self.state.read())
    }

    async fn evaluate(&self, p: &ScalingTarget) {
        let now = now_nanos();
        let gate = gate(&self.state.read(), p, now);
        let mut status = self.status(&p.id).unwrap_or_default();
        status.last_evaluated = now;
        let last = match gate {
            Ok(last) => last,
            Err(wait) => {
                status.state = wait.state().into();
                status.reason = wait.reason();
                self.lock().insert(p.id.clone(), status);
                return;
            }
        };
        let values = self.read_checks(p, now).await;
        let d = decide(p, &values, last, now);
        status.checks = d
            .checks
            .iter()
            .map(|c| {
                json!({"Name": c.name, "Metric": c.metric, "Direction": c.direction.as_str(),
                            "Count": c.count, "Reason": c.reason, "Error": c.error})
            })
            .collect();
        status.reason.clone_from(&d.reason);
        status.last_error.clone_from(&d.error);
        if d.error.is_some() {
            status.errors_total += 1;
            tracing::warn!(policy = %p.id, job = %p.job_id, group = %p.group, error = ?d.error, "autoscaler check failed");
        }
        let Some(count) = d.count else {
            status.state = if d.error.is_some() { "error" } else { "ok" }.into();
            self.lock().insert(p.id.clone(), status);
            return;
        };
        let cmd = scale_command(p, &d, count, now, new_uuid());
        match self.replicator.propose(cmd).await {
            Ok(_) => {
                tracing::info!(policy = %p.id, job = %p.job_id, group = %p.group, from = p.count, to = count, reason = %d.reason, "autoscaler scaled group");
                status.state = "scaled".into();
                status.actions_total += 1;
                status.reason = format!("{} ({} -> {count})", d.reason, p.count);
            }
            Err(e) => {
                tracing::warn!(policy = %p.id, error = %e, "autoscaler could not scale");
                status.state = "error".into();
                status.errors_total += 1;
                status.last_error = Some(format!("scaling to {count} failed: {e}"));
            }
        }
        self.lock().insert(p.id.clone(), status);
    }
}
