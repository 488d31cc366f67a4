use super::*;
use crate::model::AllocatedTaskResources;

fn alloc(id: &str, cpu: u64, mem: u64) -> Allocation {
    let mut a = Allocation {
        id: id.into(),
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

fn used_by(allocs: &[Allocation]) -> Usage {
    let mut u = Usage::default();
    allocs.iter().for_each(|a| u.add(&a.usage()));
    u
}

#[test]
fn evicts_lowest_priority_closest_fit_only() {
    let cap = Usage {
        cpu_mhz: 1000,
        memory_mb: 1000,
        ..Usage::default()
    };
    let allocs = [
        alloc("a", 500, 500),
        alloc("b", 200, 200),
        alloc("c", 300, 300),
    ];
    let prio = |id: &str| match id {
        "a" => 20,
        "b" => 20,
        _ => 60,
    };
    let cands = allocs.iter().map(|a| Candidate {
        alloc: a,
        priority: prio(&a.id),
    });
    let ask = Usage {
        cpu_mhz: 200,
        memory_mb: 200,
        ..Usage::default()
    };
    let chosen = select_preemptions(&cap, &used_by(&allocs), &ask, 70, cands).unwrap();
    // 200 is missing: "b" (200) is the closest fit among the lowest priority.
    assert_eq!(
        chosen.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        vec!["b"]
    );
}

#[test]
fn respects_the_priority_delta_and_reports_impossible() {
    let cap = Usage {
        cpu_mhz: 1000,
        memory_mb: 1000,
        ..Usage::default()
    };
    let allocs = [alloc("a", 1000, 1000)];
    let ask = Usage {
        cpu_mhz: 100,
        memory_mb: 100,
        ..Usage::default()
    };
    let cands = || {
        allocs.iter().map(|a| Candidate {
            alloc: a,
            priority: 45,
        })
    };
    assert!(select_preemptions(&cap, &used_by(&allocs), &ask, 50, cands()).is_none());
    assert_eq!(
        select_preemptions(&cap, &used_by(&allocs), &ask, 55, cands())
            .unwrap()
            .len(),
        1
    );
}
