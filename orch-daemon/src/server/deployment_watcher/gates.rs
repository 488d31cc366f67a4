//! The watcher's half of orch's metric gates (`core::workflow::gate`): for every gate
//! standing at its batch, read the source through the autoscaler's reader (one
//! Prometheus client in orch), decide with `gate::observe`, and record the reading in
//! the replicated state (`DeploymentGateUpdate`), with an evaluation when the gate
//! opens so the next batch is placed. A failed gate is turned into the deployment's
//! failure by [`super::decide`], from the state, so a new leader redoes it.

use orch_core::autoscale::Source;
use orch_core::state::{Command, DeploymentGateUpdate};
use orch_core::workflow::gate::{self, Observation};

use super::deployment_eval;
use crate::clock::new_uuid;
use crate::server::Leader;
use crate::server::autoscaler::MetricTarget;

/// A reading that changes only the description is written at most this often.
const DESCRIPTION_REFRESH_NS: i64 = 5_000_000_000;

impl Leader {
    /// Reads every waiting gate once and records what changed.
    pub(super) async fn read_gates(&self, now: i64) {
        let waits = gate::waiting(&self.state.read(), now);
        for w in waits {
            let source = if w.gate.source == "prometheus" {
                Source::Prometheus
            } else {
                Source::Nomad
            };
            let target = MetricTarget {
                namespace: &w.namespace,
                job_id: &w.job_id,
                group: &w.group,
            };
            let read = self
                .autoscaler
                .read_metric(source, target, &w.gate.query, None, now)
                .await;
            let obs = match read {
                Ok(v) => Observation::Value(v),
                Err(e) => Observation::NoData(e.to_string()),
            };
            let next = gate::observe(&w.state, &w.gate, &w.group, now, &obs);
            if !gate::worth_writing(w.stored.as_ref(), &next, DESCRIPTION_REFRESH_NS) {
                continue;
            }
            let eval = if next.open {
                let s = self.state.read();
                s.deployment(&w.deployment_id)
                    .map(|d| deployment_eval(&s, d, now, new_uuid()))
            } else {
                None
            };
            let cmd = Command::DeploymentGateUpdate(DeploymentGateUpdate {
                deployment_id: w.deployment_id.clone(),
                group: w.group.clone(),
                state: next,
                eval,
                now,
            });
            if let Err(e) = self.replicator.propose(cmd).await {
                // The deployment moved on, or no quorum: the next pass reads again.
                tracing::debug!(deployment = %w.deployment_id, error = %e, "gate reading not committed");
            }
        }
    }
}
