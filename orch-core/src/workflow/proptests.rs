//! Properties of orch's job-level workflows: an ordered group never has index *i*
//! running unhealthy while *i+1* starts; conditions are consistent; registrations that
//! pass the cycle check never leave a cycle; an ordered group of the simulated cluster
//! starts in index order and stops in reverse.

use std::collections::BTreeMap;

use petgraph::algo::is_cyclic_directed;
use petgraph::graph::DiGraph;
use proptest::prelude::*;

use super::job_deps::{GroupFacts, check_cycles, group_holds};
use super::ordered::{IndexFacts, frontier, stops_allowed};
use super::tests::job;
use crate::model::{JobDependency, job_condition};

/// One index of a simulated ordered group.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Empty,
    Starting,
    Healthy,
}

proptest! {
    /// Whatever the allocations do (become healthy, fail, get lost), the gate lets an
    /// index start only when every index below it is healthy.
    #[test]
    fn ordered_never_starts_an_index_above_an_unhealthy_one(
        count in 1usize..8,
        events in prop::collection::vec((0usize..8, 0u8..3), 0..60),
    ) {
        let mut slots = vec![Slot::Empty; count];
        for (at, what) in events {
            let facts: Vec<IndexFacts> = slots.iter().map(|s| IndexFacts {
                ready: *s == Slot::Healthy,
                starting: *s == Slot::Starting,
            }).collect();
            if let Some(i) = frontier(&facts) {
                let i = i as usize;
                prop_assert!(slots[i] == Slot::Empty);
                for (j, s) in slots.iter().enumerate().take(i) {
                    prop_assert!(*s == Slot::Healthy, "index {i} starts while {j} is {s:?}");
                }
                slots[i] = Slot::Starting;
            }
            let at = at % count;
            slots[at] = match (slots[at], what) {
                (Slot::Starting, 0) => Slot::Healthy,
                (_, 1) => Slot::Empty, // failed, lost or stopped
                (s, _) => s,
            };
        }
    }

    /// Stops go from the top: the only index allowed is the highest one still running.
    #[test]
    fn ordered_stops_only_the_highest_running_index(
        allocs in prop::collection::vec((0u32..6, any::<bool>()), 0..10),
    ) {
        let allowed = stops_allowed(&allocs);
        prop_assert!(allowed.len() <= 1);
        for i in &allowed {
            prop_assert!(allocs.iter().all(|(j, running)| !running || j <= i));
        }
        prop_assert_eq!(allowed.is_empty(), allocs.iter().all(|(_, r)| !r));
    }

    /// `healthy` implies `running`; `complete` means nothing is left running.
    #[test]
    fn conditions_are_consistent(
        count in 0u32..5, running in 0u32..5, healthy in 0u32..5,
        complete in 0u32..5, extra_live in 0u32..3,
    ) {
        let healthy = healthy.min(running);
        let f = GroupFacts { count, running, healthy, complete, live: running + extra_live };
        if group_holds(job_condition::HEALTHY, &f) {
            prop_assert!(group_holds(job_condition::RUNNING, &f));
        }
        if group_holds(job_condition::COMPLETE, &f) {
            prop_assert_eq!(f.live, 0);
            prop_assert!(group_holds(job_condition::RUNNING, &f));
        }
    }

    /// Registering jobs one by one, accepting those the check accepts: the accepted
    /// dependency graph never has a cycle, and a refusal always names a real one.
    #[test]
    fn accepted_registrations_never_form_a_cycle(
        regs in prop::collection::vec((0usize..5, prop::collection::vec(0usize..5, 0..3)), 1..25),
    ) {
        let mut stored: BTreeMap<String, crate::model::Job> = BTreeMap::new();
        for (who, deps) in regs {
            let mut j = job(&format!("j{who}"), 1);
            j.depends_on = deps.iter().map(|d| JobDependency {
                job: format!("j{d}"), condition: "running".into(),
            }).collect();
            let refused = check_cycles(&j, |id| stored.get(id)).is_err();
            let mut trial = stored.clone();
            trial.insert(j.id.clone(), j.clone());
            prop_assert_eq!(refused, cyclic(&trial), "check disagrees with petgraph");
            if !refused {
                stored = trial;
            }
        }
        prop_assert!(!cyclic(&stored));
    }
}

/// Whether the jobs' dependencies form a cycle (self-loops included).
fn cyclic(jobs: &BTreeMap<String, crate::model::Job>) -> bool {
    let mut g = DiGraph::<&str, ()>::new();
    let mut nodes = BTreeMap::new();
    for id in jobs.keys() {
        nodes.insert(id.as_str(), g.add_node(id.as_str()));
    }
    for (id, j) in jobs {
        for d in &j.depends_on {
            if let Some(&to) = nodes.get(d.job.as_str()) {
                g.add_edge(nodes[id.as_str()], to, ());
            }
        }
    }
    is_cyclic_directed(&g)
}
