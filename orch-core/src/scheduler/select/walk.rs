//! The candidate walk of one placement, and the reuse of the last walk's candidates
//! for the next placement of the same group.
//!
//! Under best fit every placement of a group walks from the fullest live node and
//! scores the first `limit` nodes that fit. Between two placements of a group whose
//! scores depend only on each node's own usage and collisions (no spread, no
//! reschedule penalty, no ports or devices, feasibility answered per class), the plan
//! changed one node: the one just chosen. So the next walk would score the same
//! candidates the same way but that one; [`Placer::reuse_window`] re-scores it (drops
//! it if it no longer fits), counts the others as evaluated as the walk would, and
//! walks on from where the last walk stopped only if a candidate is missing. The
//! choice, the metrics and the nodes marked full are the walk's
//! (`select::tests` checks this against fresh walks).

use super::group::ClassAnswer;
use super::{MAX_SKIP, Placer};
use crate::model::{AllocationMetric, TaskGroup};
use crate::scheduler::context::PlanContext;
use crate::scheduler::feasible::record_evaluated;
use crate::state::NO_CLASS;

/// The candidates the last walk of a group scored.
pub(super) struct Window {
    gi: usize,
    /// `(position, score)` of every candidate, in visiting order.
    scored: Vec<(usize, f64)>,
    /// The position the walk would have visited next.
    next: usize,
    /// How many touched nodes the plan had when the walk ended.
    touched: usize,
    /// The position chosen.
    chosen: usize,
}

/// A walk in progress.
struct Scan {
    visited: usize,
    end: usize,
    limit: usize,
    candidates: usize,
    skipped: usize,
    best: Option<(usize, f64)>,
    best_skipped: Option<(usize, f64)>,
    /// The candidates (not the skipped), in visiting order.
    scored: Vec<(usize, f64)>,
}

impl Placer<'_> {
    /// Visits nodes from the cursor until `limit` candidates are scored; the best of
    /// them (the first on ties), else the best of the few skipped for a negative score.
    /// `reusable`: the placement has no preferred node or penalty nodes, so the next
    /// one may reuse this walk's candidates.
    pub(super) fn walk(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
        tg: &TaskGroup,
        penalty_nodes: &[String],
        metrics: &mut AllocationMetric,
        reusable: bool,
    ) -> Option<(usize, f64)> {
        let n = self.order.len();
        let (limit, first_live) = match self.groups.get(gi) {
            Some(Some(v)) => (v.limit, v.first_live),
            _ => return None,
        };
        // Fullest-first restarts at the fullest node still alive for this group; nodes
        // that were infeasible or full for it stay so for the rest of the evaluation
        // (placements only add load; a stop revives its node), so they are skipped.
        let best_fit = self.config.best_fit();
        if best_fit {
            self.cursor = first_live;
        }
        // Best fit walks from the first live node to the end: everything before it is
        // dead, so wrapping around would only revisit dead nodes.
        let end = if best_fit {
            n.saturating_sub(first_live)
        } else {
            n
        };
        let mut scan = Scan {
            visited: 0,
            end,
            limit,
            candidates: 0,
            skipped: 0,
            best: None,
            best_skipped: None,
            scored: Vec::new(),
        };
        self.scan(ctx, gi, tg, penalty_nodes, metrics, &mut scan);
        let found = scan.best.or(scan.best_skipped);
        self.keep_window(ctx, gi, reusable, scan, found);
        found
    }

    /// The walk's loop, from `self.cursor` on.
    fn scan(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
        tg: &TaskGroup,
        penalty_nodes: &[String],
        metrics: &mut AllocationMetric,
        s: &mut Scan,
    ) {
        let n = self.order.len();
        let best_fit = self.config.best_fit();
        while s.visited < s.end && s.candidates < s.limit {
            if best_fit
                && let Some(Some(v)) = self.groups.get(gi)
                && v.is_dead(self.cursor % n)
            {
                // A run of dead nodes is skipped a word of the bitset at a time.
                match v.next_live(self.cursor, n) {
                    Some(next) => {
                        s.visited += next - self.cursor;
                        self.cursor = next;
                    }
                    None => break,
                }
                if s.visited >= s.end {
                    break;
                }
            }
            let pos = self.cursor % n;
            if best_fit && let Some(Some(v)) = self.groups.get_mut(gi) {
                // Nodes whose codes say they have no room: each marked full as
                // visiting it would (best fit walks to `n` without wrapping).
                let to = pos + (s.end - s.visited);
                let to = self.order.first_maybe_fitting(pos, to, &v.need);
                if to > pos {
                    v.mark_full_run(pos, to);
                    s.visited += to - pos;
                    self.cursor = to;
                    continue;
                }
            }
            self.cursor = self.cursor.wrapping_add(1);
            s.visited += 1;
            if best_fit && let Some(Some(v)) = self.groups.get_mut(gi) {
                if v.is_dead(pos) {
                    continue;
                }
                // Too full to try: skipped for the evaluation without a look at its
                // feasibility (counted as exhausted only if the placement fails).
                if self
                    .order
                    .capacity(pos)
                    .fits(&self.order.used(pos), &v.ask)
                    .is_err()
                {
                    v.mark_full(pos);
                    continue;
                }
            }
            let Some(score) = self.evaluate(ctx, gi, tg, pos, penalty_nodes, metrics) else {
                self.evaluated_dead(gi, pos);
                continue;
            };
            let slot = if score < 0.0 && s.skipped < MAX_SKIP {
                s.skipped += 1;
                &mut s.best_skipped
            } else {
                s.candidates += 1;
                s.scored.push((pos, score));
                &mut s.best
            };
            if slot.is_none_or(|b| score > b.1) {
                *slot = Some((pos, score));
            }
        }
    }

    /// A node found unable to take the group: dead for the rest of the evaluation
    /// (under best fit), unless a per_alloc volume makes the answer the allocation's.
    fn evaluated_dead(&mut self, gi: usize, pos: usize) {
        let per_alloc = self.feasibility.per_alloc(gi);
        if self.config.best_fit()
            && !per_alloc
            && let Some(Some(v)) = self.groups.get_mut(gi)
        {
            v.mark_dead(pos);
        }
    }

    /// Keeps a finished walk's candidates when the next placement of the group can
    /// reuse them (see the module documentation).
    fn keep_window(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
        reusable: bool,
        scan: Scan,
        found: Option<(usize, f64)>,
    ) {
        self.window = None;
        let Some((chosen, _)) = found else {
            return;
        };
        let Some(Some(v)) = self.groups.get(gi) else {
            return;
        };
        let by_class = |p: &(usize, f64)| {
            let c = self.order.class(p.0);
            c != NO_CLASS && v.classes.get(c as usize) == Some(&ClassAnswer::Feasible)
        };
        let keep = reusable
            && self.config.best_fit()
            && scan.skipped == 0
            && v.spreads.is_empty()
            && !v.extras
            && v.class_stable
            && !self.feasibility.per_alloc(gi)
            && scan.scored.iter().all(by_class);
        if keep {
            self.window = Some(Window {
                gi,
                scored: scan.scored,
                next: self.cursor,
                touched: ctx.touched().len(),
                chosen,
            });
        }
    }

    /// The walk's answer from the last walk's candidates, when the plan changed
    /// nothing since but the node that walk chose; `None` when a fresh walk is needed
    /// (nothing was recorded then).
    pub(super) fn reuse_window(
        &mut self,
        ctx: &PlanContext<'_>,
        gi: usize,
        tg: &TaskGroup,
        metrics: &mut AllocationMetric,
        reusable: bool,
    ) -> Option<Option<(usize, f64)>> {
        let w = self.window.take()?;
        let touched = ctx.touched();
        let chosen_slot = self.order.slots.get(w.chosen)?;
        if !reusable
            || w.gi != gi
            || touched.len() != w.touched + 1
            || touched.last() != Some(chosen_slot)
        {
            return None;
        }
        let at = w.scored.iter().position(|(p, _)| *p == w.chosen)?;
        let v = self.groups.get(gi)?.as_ref()?;
        let x = w.chosen;
        let fits = self.order.capacity(x).fits(&self.order.used(x), &v.ask);
        if fits.is_ok() && self.score(v, x, self.order.node(x)?, &[]) < 0.0 {
            return None; // A skipped candidate: the walk's rule for those applies.
        }
        // From here on, what the walk does, in effect.
        let mut scored = w.scored;
        for _ in 1..scored.len() {
            record_evaluated(metrics);
        }
        let rescored = match fits {
            Ok(()) => self.evaluate(ctx, gi, tg, x, &[], metrics),
            Err(_) => {
                if let Some(Some(v)) = self.groups.get_mut(gi) {
                    v.mark_full(x);
                }
                None
            }
        };
        match rescored {
            Some(score) => scored[at].1 = score,
            None => {
                if fits.is_ok() {
                    self.evaluated_dead(gi, x);
                }
                scored.remove(at);
            }
        }
        let v = self.groups.get(gi)?.as_ref()?;
        let n = self.order.len();
        self.cursor = w.next.max(v.first_live);
        let mut scan = Scan {
            visited: self.cursor - v.first_live,
            end: n.saturating_sub(v.first_live),
            limit: v.limit,
            candidates: scored.len(),
            skipped: 0,
            best: None,
            best_skipped: None,
            scored,
        };
        for &(p, s) in &scan.scored {
            if scan.best.is_none_or(|b| s > b.1) {
                scan.best = Some((p, s));
            }
        }
        self.scan(ctx, gi, tg, &[], metrics, &mut scan);
        let found = scan.best.or(scan.best_skipped);
        self.keep_window(ctx, gi, true, scan, found);
        Some(found)
    }
}
