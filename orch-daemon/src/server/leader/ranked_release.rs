//! The feeder's ranked release (orch): what capacity woke in the blocked tracker is let
//! out one evaluation at a time, best ranked first (`orch_core::broker::queue`), each
//! once the one before it is no longer pending, so every release is scheduled against
//! what the previous one left.

use orch_core::broker::BlockedEvals;
use orch_core::broker::queue::{self, FairShare};
use orch_core::model::{Evaluation, eval_status};

use super::Leader;

impl Leader {
    /// The best-ranked woken evaluation, once the one let out before it is no longer
    /// pending (scheduled: complete, blocked again, failed or gone). One at a time, so
    /// each is scheduled against what the one before it left and the highest-ranked
    /// waiting work gets freed capacity first.
    pub(super) fn release_ranked(
        &self,
        tracker: &mut BlockedEvals,
        s: &orch_core::state::StateStore,
    ) -> Option<Evaluation> {
        let mut slot = self.released.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = slot.as_deref()
            && s.eval(id).is_some_and(|e| e.status == eval_status::PENDING)
        {
            return None;
        }
        *slot = None;
        if tracker.woken_len() == 0 {
            return None;
        }
        let share = FairShare::from_state(s, tracker.woken_namespaces());
        let room = queue::Room::from_state(s);
        let next = tracker.next_ranked(
            &share,
            |e| queue::waiting_since(s, e),
            |e| room.may_fit(s, e),
        )?;
        *slot = Some(next.id.clone());
        Some(next)
    }
}
