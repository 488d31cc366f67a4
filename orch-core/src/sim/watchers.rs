//! The leader's other duties in the simulated cluster, decided by the servers' own code:
//! the deployment watcher ([`crate::leader::deployments`]) after every quiet step, and
//! the core GC ([`crate::leader::gc`]) when the caller asks.

use super::{Cluster, SimError, uuid_like};
use crate::leader::deployments::{self, Action};
use crate::leader::gc::{self, GcConfig};
use crate::state::Command;

impl Cluster {
    /// One pass of the deployment watcher: what it decides is committed (a refused
    /// command is decided again next pass, as on the servers). True when it wrote.
    pub(super) fn watch_deployments(&mut self) -> Result<bool, SimError> {
        let decisions = deployments::decide(&self.state, self.now, &self.deployments_seen);
        self.deployments_seen = decisions.seen;
        let mut wrote = false;
        for action in &decisions.actions {
            let mut next = Some(action.clone());
            while let Some(a) = next.take() {
                let (now, rng, seq) = (self.now, &mut self.rng, &mut self.next_id);
                let cmd = deployments::command(&self.state, &a, now, &mut || {
                    *seq += 1;
                    uuid_like(rng.next_u64(), *seq)
                });
                let Some(cmd) = cmd else { break };
                match self.apply(cmd) {
                    Ok(_) => wrote = true,
                    Err(SimError::State(_)) => {
                        if matches!(a, Action::Evaluate { .. }) {
                            self.deployments_seen.clear();
                        }
                        break;
                    }
                    Err(e) => return Err(e),
                }
                next = deployments::follow_up(&self.state, &a);
            }
        }
        Ok(wrote)
    }

    /// Runs the core GC now with `config`'s thresholds (`force`: none, as
    /// `PUT /v1/system/gc`); returns how many objects it collected.
    pub fn gc(&mut self, config: &GcConfig, force: bool) -> Result<usize, SimError> {
        let tokens = gc::expired_tokens(&self.state, self.now, force);
        let mut collected = tokens.len();
        if !tokens.is_empty() {
            let cmd = crate::state::AclTokenDelete { accessors: tokens };
            self.apply(Command::AclTokenDelete(cmd))?;
        }
        let batch = gc::collect(&self.state, self.now, config, force);
        if !gc::is_empty(&batch) {
            collected += gc::batch_len(&batch);
            self.apply(Command::GcBatch(batch))?;
        }
        Ok(collected)
    }
}
