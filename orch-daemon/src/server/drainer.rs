//! The leader's node drainer (Nomad's `nomad/drainer`): moves allocations off draining
//! nodes at each group's `migrate` pace and clears drains that are done.
//!
//! The decisions are `orch_core::drain::decide`, a pure function of the replicated
//! state and the time; this loop only runs it while this server leads and proposes
//! what it returns. A mark is recorded on the allocation itself, so a new leader sees
//! what the old one marked and neither repeats nor forgets a migration.

use std::sync::Arc;
use std::time::Duration;

use orch_core::drain::{commands, decide};

use super::Leader;
use crate::clock::{new_uuid, now_nanos};

/// Longest pause between passes: replacements become healthy by the passing of
/// `min_healthy_time` and deadlines pass without any state change.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// How long changes are gathered before deciding (a plan and its client updates come
/// in quick succession).
const BATCH_WINDOW: Duration = Duration::from_millis(100);

impl Leader {
    /// The drainer loop: idles while this server follows; while it leads, re-decides
    /// after every burst of state changes and at least every second.
    pub(super) async fn drainer(self: Arc<Self>) {
        let mut rx = self.state.subscribe();
        loop {
            if self.replicator.is_leader() {
                let now = now_nanos();
                let cmds = {
                    let s = self.state.read();
                    let actions = decide(&s, now);
                    let mut ids = new_uuid;
                    commands(&s, &actions, now, &mut ids)
                };
                for cmd in cmds {
                    if let Err(e) = self.replicator.propose(cmd).await {
                        // Refused (an allocation went away meanwhile) or no quorum: the
                        // next pass decides again from the new state.
                        tracing::debug!(error = %e, "drainer command not committed");
                    }
                }
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(MAX_SLEEP) => {}
            }
            tokio::time::sleep(BATCH_WINDOW).await;
        }
    }
}
