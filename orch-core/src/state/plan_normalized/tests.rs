use proptest::prelude::*;

use super::*;
use crate::model::{AllocationMetric, SmallMap};
use crate::state::testutil::{alloc, plan, populated};

fn uuid(i: u32) -> String {
    format!("{i:08x}-0000-4000-8000-{i:012x}")
}

fn metric(evaluated: u64) -> AllocationMetric {
    let mut available = SmallMap::default();
    available.insert("dc1".to_string(), 4);
    AllocationMetric {
        nodes_evaluated: evaluated,
        nodes_available: available,
        ..AllocationMetric::default()
    }
}

/// A plan of one job's placements as the scheduler makes them: one group, UUIDs,
/// default names, a few nodes and a few distinct metrics.
fn c1m_like(n: u32) -> ApplyPlanResults {
    let allocs = (0..n)
        .map(|i| {
            let mut a = alloc(&uuid(i), "c1m-7", &uuid(1000 + i % 9), i);
            a.node_name = format!("node-{}", i % 9).into();
            a.metrics = Some(metric(u64::from(i % 3)));
            a.desired_status = "run".into();
            a.client_status = "pending".into();
            a
        })
        .collect();
    let mut p = plan(allocs);
    p.eval_id = uuid(99);
    p
}

#[test]
fn a_c1m_plan_round_trips_and_shrinks_sixfold() {
    let p = c1m_like(500);
    let n = ApplyPlanNormalized::new(p.clone());
    assert_eq!(n.runs.len(), 1, "one job, one group: one run");
    assert_eq!(n.runs[0].nodes.len(), 9);
    assert_eq!(n.runs[0].metrics.len(), 3);
    let full = postcard::to_allocvec(&Command::ApplyPlanResults(p.clone())).unwrap();
    let small = postcard::to_allocvec(&Command::ApplyPlanResults(p.clone()).normalized()).unwrap();
    assert!(
        small.len() * 6 < full.len(),
        "{} vs {}",
        small.len(),
        full.len()
    );
    let decoded: Command = postcard::from_bytes(&small).unwrap();
    let Command::ApplyPlanNormalized(d) = decoded else {
        panic!("decoded {decoded:?}")
    };
    assert_eq!(d.expand().unwrap(), p);
}

#[test]
fn ids_and_names_compact_only_when_they_print_back_exactly() {
    for s in [
        "0a1b2c3d-0000-4000-8000-00000000000f",
        "0A1B2C3D-0000-4000-8000-00000000000F",
        "0a1b2c3d00004000800000000000000f0000",
        "0a1b2c3d-0000-4000-8000-00000000000",
        "",
        "é",
    ] {
        assert_eq!(CompactText::new(s).text(), s);
    }
    assert!(matches!(
        CompactText::new("0a1b2c3d-0000-4000-8000-00000000000f"),
        CompactText::Uuid(_)
    ));
    assert!(matches!(
        CompactText::new("0A1B2C3D-0000-4000-8000-00000000000F"),
        CompactText::Text(_)
    ));
    let prefix = "web.g[";
    for name in [
        "web.g[0]",
        "web.g[17]",
        "web.g[007]",
        "web.g[]",
        "web.g[1",
        "x",
        "web.g[+1]",
    ] {
        assert_eq!(CompactName::new(name, prefix).text(prefix), name);
    }
    assert_eq!(
        CompactName::new("web.g[17]", prefix),
        CompactName::Index(17)
    );
    assert!(matches!(
        CompactName::new("web.g[007]", prefix),
        CompactName::Text(_)
    ));
}

#[test]
fn a_normalized_plan_applies_to_the_same_state_as_the_plan() {
    let mut a = populated();
    let mut b = a.clone();
    let allocs = (0..20)
        .map(|i| {
            let mut x = alloc(&uuid(i), "web", if i % 2 == 0 { "n1" } else { "n2" }, i + 2);
            x.eval_id = "e1".into();
            x.metrics = Some(metric(u64::from(i % 2)));
            x
        })
        .collect();
    let mut p = plan(allocs);
    p.eval_id = "e1".into();
    a.apply(5, Command::ApplyPlanResults(p.clone())).unwrap();
    b.apply(5, Command::ApplyPlanResults(p).normalized())
        .unwrap();
    assert_eq!(a.snapshot().unwrap(), b.snapshot().unwrap());
}

#[test]
fn an_index_past_the_run_is_refused_by_name() {
    let mut n = ApplyPlanNormalized::new(c1m_like(3));
    n.runs[0].rest[1].node = 40;
    let err = n.expand().unwrap_err().to_string();
    assert!(err.contains("node 40"), "{err}");
}

/// One allocation drawn from a few values of every field a plan varies, and of some
/// it rarely does (group, status, previous allocation).
fn any_alloc() -> impl Strategy<Value = Allocation> {
    (
        0u32..40,
        prop_oneof![Just(0u8), Just(1), Just(2)],
        0u32..4,
        0u64..3,
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(i, id_kind, node, m, other_group, stop, prev)| {
            let id = match id_kind {
                0 => uuid(i),
                1 => uuid(i).to_uppercase(),
                _ => format!("alloc-{i}"),
            };
            let mut a = alloc(&id, "web", &format!("n{node}"), i);
            a.node_name = format!("host-{node}").into();
            a.metrics = (m > 0).then(|| metric(m));
            if other_group {
                a.task_group = "db".into();
            }
            if stop {
                a.desired_status = "stop".into();
            }
            if prev {
                a.previous_allocation = uuid(i + 100);
            }
            if i % 13 == 0 {
                a.name = format!("custom-{i}");
            }
            a
        })
}

proptest! {
    #[test]
    fn any_plan_expands_back_to_itself(allocs in prop::collection::vec(any_alloc(), 0..60)) {
        let p = plan(allocs);
        let n = ApplyPlanNormalized::new(p.clone());
        let bytes = postcard::to_allocvec(&n).unwrap();
        let decoded: ApplyPlanNormalized = postcard::from_bytes(&bytes).unwrap();
        prop_assert_eq!(decoded.expand().unwrap(), p);
    }
}
