//! Ranked release: evaluations that capacity may help are not let out all at once but
//! *woken* (still blocked, still one per job) and handed out one at a time in queue
//! order (`broker::queue`), so the best-ranked waiting work is scheduled first against
//! what freed up and the next one sees what it took.

use std::collections::BTreeSet;

use super::super::queue::{FairShare, Waiting, compare};
use super::{BlockOutcome, BlockedEvals};
use crate::model::{Evaluation, eval_status};

impl BlockedEvals {
    /// Holds evaluations an unblock released (or that missed one) as woken, waiting for
    /// [`BlockedEvals::next_ranked`]. They stay blocked (status `blocked`) and keep the
    /// one-per-job rule of [`BlockedEvals::block`]; the canceled duplicates that rule
    /// yields are returned for the caller to write.
    pub fn wake(&mut self, evals: Vec<Evaluation>) -> Vec<Evaluation> {
        let mut duplicates = Vec::new();
        for e in evals {
            let out: BlockOutcome = self.insert(e, true);
            duplicates.extend(out.duplicate);
        }
        duplicates
    }

    /// The best-ranked woken evaluation that `may_fit` (status `pending`), removed from
    /// the tracker: what the leader lets out next when nothing it let out is still being
    /// scheduled. The better-ranked ones `may_fit` refuses (no node has room for them
    /// now) go back to blocked without running, to wait for the next unblock; so a
    /// release costs one scheduling round for the work that can use the room, not one
    /// for every waiting job. `share` must hold the namespaces of
    /// [`BlockedEvals::woken_namespaces`]; `since` gives each evaluation's age
    /// (`queue::waiting_since` on the state).
    pub fn next_ranked(
        &mut self,
        share: &FairShare,
        mut since: impl FnMut(&Evaluation) -> u64,
        mut may_fit: impl FnMut(&Evaluation) -> bool,
    ) -> Option<Evaluation> {
        let mut ranked: Vec<Waiting<'_>> = self
            .woken
            .values()
            .map(|e| Waiting {
                eval: e,
                since: since(e),
            })
            .collect();
        ranked.sort_by(|a, b| compare(a, b, share));
        let mut parked = Vec::new();
        let mut chosen = None;
        for w in ranked {
            if may_fit(w.eval) {
                chosen = Some(w.eval.id.clone());
                break;
            }
            parked.push(w.eval.id.clone());
        }
        for id in parked {
            if let Some(e) = self.woken.remove(&id) {
                if e.escaped_computed_class {
                    self.escaped.insert(id, e);
                } else {
                    self.captured.insert(id, e);
                }
            }
        }
        let mut e = self.remove(&chosen?)?;
        e.status = eval_status::PENDING.to_owned();
        Some(e)
    }

    /// Woken evaluations, by ID.
    pub fn woken(&self) -> impl Iterator<Item = &Evaluation> {
        self.woken.values()
    }

    /// Number of woken evaluations.
    pub fn woken_len(&self) -> usize {
        self.woken.len()
    }

    /// The namespaces of the woken evaluations: those whose shares the ranking needs.
    pub fn woken_namespaces(&self) -> BTreeSet<&str> {
        self.woken.values().map(|e| e.namespace.as_str()).collect()
    }

    /// Every evaluation waiting here (blocked or woken), by ID within each set.
    pub fn waiting(&self) -> impl Iterator<Item = &Evaluation> {
        self.captured
            .values()
            .chain(self.escaped.values())
            .chain(self.woken.values())
    }
}
