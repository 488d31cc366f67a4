//! Client-side garbage collection of finished allocations (Nomad's
//! `/v1/client/allocation/:id/gc` and `/v1/client/gc`): the runner, the saved state and
//! the allocation directory of an allocation whose tasks have all ended are removed.
//! The servers keep the allocation; since it is terminal, the client never starts it
//! again.

use orch_core::model::client_status;

use super::Client;
use super::alloc_dir::AllocDir;

/// Why an allocation could not be collected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GcError {
    /// This client does not hold the allocation (never ran here, or collected already).
    #[error("unknown allocation {0:?} on this client")]
    Unknown(String),
    /// A task still runs; stop the allocation first.
    #[error("allocation {0:?} is still running; stop it (orch alloc stop) before collecting it")]
    Running(String),
}

impl Client {
    /// Removes a finished allocation's runner, state and directory.
    pub fn collect_alloc(&self, id: &str) -> Result<(), GcError> {
        let st = self
            .alloc_state(id)
            .ok_or_else(|| GcError::Unknown(id.to_string()))?;
        let ended = matches!(
            st.client_status.as_str(),
            client_status::COMPLETE | client_status::FAILED | client_status::LOST
        );
        if !ended || !st.tasks.values().all(|t| t.done) {
            return Err(GcError::Running(id.to_string()));
        }
        self.forget_alloc(id);
        Ok(())
    }

    /// Collects every finished allocation; how many were removed.
    pub fn collect_all(&self) -> usize {
        let ids: Vec<String> = self.lock_allocs().keys().cloned().collect();
        ids.iter()
            .filter(|id| self.collect_alloc(id).is_ok())
            .count()
    }

    /// Drops an allocation's runner, saved state and directory.
    pub(super) fn forget_alloc(&self, id: &str) {
        self.lock_allocs().remove(id);
        let _ = self.state_dir.remove(id);
        let _ = AllocDir::new(&self.alloc_root, id).destroy();
    }
}
