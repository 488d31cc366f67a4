//! What the feeder lets out of the blocked tracker besides capacity's direct releases:
//! the evaluations whose job dependency now holds (orch's `core::workflow`), and the
//! ranked release (orch): what capacity woke is let out one evaluation at a time, best
//! ranked first ([`crate::broker::queue`]), each once the one before it is no longer
//! pending, so every release is scheduled against what the previous one left.

use crate::broker::BlockedEvals;
use crate::broker::queue::{self, FairShare};
use crate::model::{Evaluation, eval_status};
use crate::state::StateStore;
use crate::workflow::job_deps;

/// Releases the blocked evaluations whose job dependency now holds. O(blocked) with a
/// job lookup each; evaluations of jobs without dependencies are never released here.
pub(super) fn release_dependents(tracker: &mut BlockedEvals, s: &StateStore) -> Vec<Evaluation> {
    tracker.release_where(|e| job_deps::release(s, e))
}

/// The best-ranked woken evaluation, once the one let out before it (`slot`) is no
/// longer pending (scheduled: complete, blocked again, failed or gone).
pub(super) fn release_ranked(
    slot: &mut Option<String>,
    tracker: &mut BlockedEvals,
    s: &StateStore,
) -> Option<Evaluation> {
    if let Some(id) = slot.as_deref()
        && s.eval(id).is_some_and(|e| e.status == eval_status::PENDING)
    {
        return None;
    }
    *slot = None;
    if tracker.woken_len() == 0 {
        return None;
    }
    // Shares only order evaluations of different namespaces: with one namespace
    // woken, the order is the same without reading every allocation's usage.
    let namespaces = tracker.woken_namespaces();
    let share = if namespaces.len() > 1 {
        FairShare::from_state(s, namespaces)
    } else {
        FairShare::default()
    };
    let room = queue::Room::from_state(s);
    let next = tracker.next_ranked(
        &share,
        |e| queue::waiting_since(s, e),
        |e| room.may_fit(s, e),
    )?;
    *slot = Some(next.id.clone());
    Some(next)
}
