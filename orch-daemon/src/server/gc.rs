//! The leader's housekeeping loop, as Nomad's core scheduler and leader loop run it:
//! failed evaluations reaped every second (each with a delayed follow-up), the core GC
//! every `gc.interval` (and on `PUT /v1/system/gc`), expired ACL tokens deleted. What
//! to collect is decided by `orch_core::leader::gc` (pure, shared with the simulator).

use std::time::Duration;

pub use orch_core::leader::gc::GcConfig;
use orch_core::leader::gc::{
    batch_len, collect, expired_tokens, failed_with_followup, is_empty, nanos,
};
use orch_core::state::{AclTokenDelete, Command, EvalUpsert};

use super::{Leader, ReplicateError};
use crate::clock::{new_uuid, now_nanos};

impl Leader {
    /// Writes the evaluations the broker gave up on as failed, with their follow-ups.
    pub(super) async fn reap_failed(&self) -> Result<(), ReplicateError> {
        let (failed, limit) = {
            let mut broker = self.broker.lock().await;
            (broker.drain_failed(), broker.config().delivery_limit)
        };
        if failed.is_empty() {
            return Ok(());
        }
        let now = now_nanos();
        let jitter = nanos(self.config.gc.failed_followup_jitter).max(1) as u64;
        let mut rng = orch_core::scheduler::rng::SchedRng::new(now as u64);
        let mut evals = Vec::new();
        for e in failed {
            let delay =
                self.config.gc.failed_followup_base + Duration::from_nanos(rng.below(jitter));
            tracing::warn!(eval = %e.id, job = %e.job_id, ?delay, "evaluation reached the delivery limit; retrying later");
            evals.extend(failed_with_followup(e, limit, delay, now, new_uuid()));
        }
        self.replicator
            .propose(Command::EvalUpsert(EvalUpsert { evals }))
            .await?;
        Ok(())
    }

    /// Runs the core GC now; `force` ignores the age thresholds (`PUT /v1/system/gc`).
    /// Returns how many objects were collected.
    pub async fn gc(&self, force: bool) -> Result<usize, ReplicateError> {
        let now = now_nanos();
        let tokens = expired_tokens(&self.state.read(), now, force);
        let reaped_tokens = tokens.len();
        if !tokens.is_empty() {
            let cmd = Command::AclTokenDelete(AclTokenDelete { accessors: tokens });
            self.replicator.propose(cmd).await?;
        }
        let batch = collect(&self.state.read(), now, &self.config.gc, force);
        if is_empty(&batch) {
            return Ok(reaped_tokens);
        }
        let n = batch_len(&batch);
        self.replicator.propose(Command::GcBatch(batch)).await?;
        Ok(n + reaped_tokens)
    }

    /// The leader's housekeeping loop: reaps failed evaluations every second and runs the
    /// core GC every `gc.interval`, only while leading.
    pub(super) async fn housekeeping(self: std::sync::Arc<Self>) {
        let mut last_gc = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if !self.replicator.is_leader() {
                continue;
            }
            if let Err(e) = self.reap_failed().await {
                tracing::warn!(error = %e, "writing failed evaluations");
            }
            if last_gc.elapsed() >= self.config.gc.interval {
                last_gc = tokio::time::Instant::now();
                match self.gc(false).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(collected = n, "core GC"),
                    Err(e) => tracing::warn!(error = %e, "core GC"),
                }
            }
        }
    }
}
