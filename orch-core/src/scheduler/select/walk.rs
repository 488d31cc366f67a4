//! The candidate walk of one placement, and the reuse of the last walk's candidates
//! for the next placement of the same group.
//!
//! Under best fit every placement of a group walks from the fullest live node and
//! scores the first `limit` nodes that fit. Between two placements of a group whose
//! scores depend only on each node's own usage and collisions and on the group's
//! counts per datacenter (no spread but even ones over datacenters, no reschedule
//! penalty, no ports or devices, feasibility answered per class), the plan changed
//! one node: the one just chosen. Every other node the last walk passed is dead as
//! it was, and every node it scored scores as it did but for the spreads' part (added
//! last, so re-scored from the same parts). So [`Placer::reuse_window`] goes over the
//! last walk's scored nodes in order as the walk would (re-scoring them, the chosen
//! one evaluated afresh or dropped if it no longer fits, the same rule for nodes
//! skipped for a negative score), and walks on from where the last walk stopped
//! only if a candidate is missing. The choice, the metrics and the nodes marked full
//! are the walk's (`select::tests` checks this against fresh walks).

use super::group::ClassAnswer;
use super::{MAX_SKIP, Placer, Scored};
use crate::model::{AllocationMetric, TaskGroup};
use crate::scheduler::context::PlanContext;
use crate::scheduler::feasible::record_evaluated;
use crate::state::NO_CLASS;

/// The candidates the last walk of a group scored.
pub(super) struct Window {
    gi: usize,
    /// Every node the walk scored (candidates and nodes skipped for a negative
    /// score), in visiting order: every node live for the group between its first
    /// live position and `next`.
    scored: Vec<Scored>,
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
    /// The nodes scored (candidates and skipped), in visiting order.
    scored: Vec<Scored>,
}

impl Scan {
    /// The walk's rule for a scored node: a negative score is skipped (kept aside)
    /// the first few times, anything else is a candidate; the best of each kind is
    /// the first of the highest score.
    fn take(&mut self, node: Scored) {
        let score = node.score;
        let slot = if score < 0.0 && self.skipped < MAX_SKIP {
            self.skipped += 1;
            &mut self.best_skipped
        } else {
            self.candidates += 1;
            &mut self.best
        };
        if slot.is_none_or(|b| score > b.1) {
            *slot = Some((node.pos, score));
        }
        self.scored.push(node);
    }
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
            let Some(scored) = self.evaluate_scored(ctx, gi, tg, pos, penalty_nodes, metrics)
            else {
                self.evaluated_dead(gi, pos);
                continue;
            };
            s.take(scored);
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
        let by_class = |p: &Scored| {
            let c = self.order.class(p.pos);
            c != NO_CLASS && v.classes.get(c as usize) == Some(&ClassAnswer::Feasible)
        };
        let keep = reusable
            && self.config.best_fit()
            && v.rescorable()
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
        if !w.scored.iter().any(|e| e.pos == w.chosen) {
            return None;
        }
        let (limit, first_live, moved) = {
            let v = self.groups.get(gi)?.as_ref()?;
            (v.limit, v.first_live, !v.spreads.is_empty())
        };
        let n = self.order.len();
        let mut scan = Scan {
            visited: 0,
            end: n.saturating_sub(first_live),
            limit,
            candidates: 0,
            skipped: 0,
            best: None,
            best_skipped: None,
            scored: Vec::with_capacity(w.scored.len() + 1),
        };
        // The walk from the first live node: the nodes the last walk scored are the
        // live ones it meets before `w.next`, in this order.
        let mut next = w.next;
        for old in &w.scored {
            if scan.candidates >= scan.limit {
                // The walk stops here; the rest is met afresh by the next walk.
                next = old.pos;
                break;
            }
            if old.pos == w.chosen {
                let x = w.chosen;
                let v = self.groups.get(gi)?.as_ref()?;
                if self
                    .order
                    .capacity(x)
                    .fits(&self.order.used(x), &v.ask)
                    .is_err()
                {
                    if let Some(Some(v)) = self.groups.get_mut(gi) {
                        v.mark_full(x);
                    }
                    continue;
                }
                match self.evaluate_scored(ctx, gi, tg, x, &[], metrics) {
                    Some(fresh) => scan.take(fresh),
                    None => self.evaluated_dead(gi, x),
                }
                continue;
            }
            // Feasible by class (kept only so) and unchanged: what evaluating it
            // records, and its score with the spreads as they are now.
            record_evaluated(metrics);
            let again = if moved {
                let v = self.groups.get(gi)?.as_ref()?;
                let node = self.order.node(old.pos)?;
                old.rescore(self.spread_part(v, old.dc, node))
            } else {
                *old
            };
            scan.take(again);
        }
        if scan.candidates < scan.limit {
            // Every scored node taken, a candidate short: walk on from where the
            // last walk stopped.
            self.cursor = next.max(first_live);
            scan.visited = self.cursor - first_live;
            self.scan(ctx, gi, tg, &[], metrics, &mut scan);
        } else {
            self.cursor = next;
        }
        let found = scan.best.or(scan.best_skipped);
        self.keep_window(ctx, gi, true, scan, found);
        Some(found)
    }
}
