//! The leader's deployment watcher loop (Nomad's `deploymentwatcher`): it drives rolling
//! updates forward from the allocation health clients report. The decisions are
//! `orch_core::leader::deployments` (pure, shared with the simulator; its `Watcher`
//! re-decides only the deployments a pass may decide differently); this is their shell:
//! it re-decides after every burst of state changes and at least every second, reads
//! metric gates (`gates`), and replicates what was decided.

use std::sync::Arc;
use std::time::Duration;

use orch_core::leader::deployments::{Action, Watcher, command, follow_up};
pub use orch_core::leader::deployments::{deployment_eval, describe, rollback};

use super::{Leader, ReplicateError};
use crate::clock::{new_uuid, now_nanos};

/// How long changes are gathered before one evaluation covers them all (Nomad batches
/// its deployment evaluations the same way).
const BATCH_WINDOW: Duration = Duration::from_millis(250);

impl Leader {
    /// The watcher loop: idles while this server follows; while it leads, re-decides
    /// after every burst of state changes and at least every second (deadlines).
    pub(super) async fn deployment_watcher(self: Arc<Self>) {
        let mut rx = self.state.subscribe();
        let mut watcher = Watcher::new();
        loop {
            if !self.replicator.is_leader() {
                watcher.forget();
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let now = now_nanos();
            self.read_gates(now).await;
            let actions = watcher.pass(&self.state.read(), now);
            for action in &actions {
                if let Err(e) = self.carry_out(action, now).await {
                    // Refused (the deployment changed meanwhile) or no quorum: the next
                    // pass decides again from the new state.
                    tracing::debug!(?action, error = %e, "deployment watcher action not committed");
                    if matches!(action, Action::Evaluate { .. }) {
                        watcher.forget();
                    }
                }
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            tokio::time::sleep(BATCH_WINDOW).await;
        }
    }

    /// Commits `action`, then what follows from it ([`follow_up`]: a revert after a
    /// failure that promised one), each command decided on the state before it.
    async fn carry_out(&self, action: &Action, now: i64) -> Result<(), ReplicateError> {
        let mut next = Some(action.clone());
        while let Some(a) = next.take() {
            let cmd = {
                let s = self.state.read();
                let mut ids = new_uuid;
                command(&s, &a, now, &mut ids)
            };
            let Some(cmd) = cmd else { break };
            self.replicator.propose(cmd).await?;
            next = follow_up(&self.state.read(), &a);
        }
        Ok(())
    }
}

mod gates;
