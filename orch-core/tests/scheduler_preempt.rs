//! Preemption invariants: only allocations at least 10 priority points lower are evicted,
//! and when a set is returned the ask fits once it is gone.

use orch_core::model::{AllocatedTaskResources, Allocation, Usage};
use orch_core::scheduler::preempt::{Candidate, PRIORITY_DELTA, select_preemptions};
use proptest::prelude::*;

fn alloc(i: usize, cpu: u64, mem: u64) -> Allocation {
    let mut a = Allocation {
        id: format!("a{i:03}"),
        desired_status: "run".into(),
        client_status: "running".into(),
        ..Allocation::default()
    };
    let mut t = AllocatedTaskResources::default();
    t.cpu.cpu_shares = cpu;
    t.memory.memory_mb = mem;
    a.allocated_resources.tasks.insert("t".into(), t);
    a
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn preemption_only_evicts_lower_priority_and_makes_room(
        existing in prop::collection::vec((1u64..400, 1u64..400, 1i32..100), 0..12),
        ask_cpu in 1u64..800, ask_mem in 1u64..800, job_priority in 1i32..100,
    ) {
        let cap = Usage { cpu_mhz: 2000, memory_mb: 2000, ..Usage::default() };
        let allocs: Vec<Allocation> = existing.iter().enumerate().map(|(i, (c, m, _))| alloc(i, *c, *m)).collect();
        let mut used = Usage::default();
        allocs.iter().for_each(|a| used.add(&a.usage()));
        prop_assume!(cap.fits(&Usage::default(), &used).is_ok());
        let prio = |a: &Allocation| existing[a.id[1..].parse::<usize>().unwrap()].2;
        let cands = allocs.iter().map(|a| Candidate { alloc: a, priority: prio(a) });
        let ask = Usage { cpu_mhz: ask_cpu, memory_mb: ask_mem, ..Usage::default() };
        let again = select_preemptions(&cap, &used, &ask, job_priority, allocs.iter().map(|a| Candidate { alloc: a, priority: prio(a) }));
        match select_preemptions(&cap, &used, &ask, job_priority, cands) {
            Some(chosen) => {
                let mut after = used;
                for a in &chosen {
                    prop_assert!(job_priority - prio(a) >= PRIORITY_DELTA, "evicted {} of priority {}", a.id, prio(a));
                    after.sub(&a.usage());
                }
                prop_assert!(cap.fits(&after, &ask).is_ok());
                let ids: Vec<_> = chosen.iter().map(|a| a.id.clone()).collect();
                let ids2: Vec<_> = again.unwrap_or_default().iter().map(|a| a.id.clone()).collect();
                prop_assert_eq!(ids, ids2, "deterministic");
            }
            None => {
                // Even evicting every eligible allocation would not have been enough.
                let mut all_out = used;
                for a in allocs.iter().filter(|a| job_priority - prio(a) >= PRIORITY_DELTA) {
                    all_out.sub(&a.usage());
                }
                prop_assert!(cap.fits(&all_out, &ask).is_err());
            }
        }
    }
}
