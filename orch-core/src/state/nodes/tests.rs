use super::*;
use crate::model::{DrainStrategy, DriverInfo, NodeDeviceResource, client_status, eligibility};
use crate::state::testutil::*;
use crate::state::*;

fn drain(node_id: &str, strategy: Option<DrainStrategy>, mark_eligible: bool) -> Command {
    Command::NodeDrain(NodeDrain {
        node_id: node_id.into(),
        drain_strategy: strategy,
        mark_eligible,
        drain_complete: false,
        now: NOW,
    })
}

fn status(node_id: &str, status: &str) -> Command {
    Command::NodeStatusUpdate(NodeStatusUpdate {
        node_id: node_id.into(),
        status: status.into(),
        now: NOW + 1_000_000_000,
    })
}

fn elig(node_id: &str, value: &str) -> Command {
    Command::NodeEligibility(NodeEligibility {
        node_id: node_id.into(),
        eligibility: value.into(),
    })
}

#[test]
fn register_stamps_indexes_class_and_event() {
    let mut s = StateStore::new();
    s.apply(3, register_node(node("n1"))).unwrap();
    let n = s.node("n1").unwrap();
    assert_eq!((n.create_index, n.modify_index), (3, 3));
    assert!(n.computed_class.starts_with("v1:"));
    assert_eq!(n.events.len(), 1);
    assert_eq!(n.status_updated_at, NOW / 1_000_000_000);
    assert_eq!(s.index(table::NODES), 3);
    // Re-registration keeps CreateIndex, drain and eligibility.
    s.apply(4, drain("n1", Some(DrainStrategy::default()), false))
        .unwrap();
    s.apply(5, register_node(node("n1"))).unwrap();
    let n = s.node("n1").unwrap();
    assert_eq!((n.create_index, n.modify_index), (3, 5));
    assert!(n.drain_strategy.is_some());
    assert_eq!(n.scheduling_eligibility, eligibility::INELIGIBLE);
}

#[test]
fn computed_class_ignores_unique_keys_and_tracks_feasibility_inputs() {
    let a = node("a");
    let mut b = node("b");
    b.attributes.insert("unique.hostname".into(), "b".into());
    b.meta.insert("unique.rack".into(), "r9".into());
    b.name = "other".into();
    assert_eq!(compute_class(&a), compute_class(&b));
    let mut c = node("c");
    c.attributes.insert("kernel.name".into(), "linux".into());
    assert_ne!(compute_class(&a), compute_class(&c));
    let mut d = node("d");
    d.drivers.insert(
        "exec".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        },
    );
    let mut e = d.clone();
    if let Some(x) = e.drivers.get_mut("exec") {
        x.healthy = false;
    }
    assert_ne!(compute_class(&d), compute_class(&e));
    let mut f = node("f");
    f.node_resources.devices.push(NodeDeviceResource {
        vendor: "nvidia".into(),
        ..Default::default()
    });
    assert_ne!(compute_class(&a), compute_class(&f));
    // Field boundaries cannot blur.
    let mut g = node("g");
    g.datacenter = "dc1x".into();
    g.node_class = String::new();
    let mut h = node("h");
    h.datacenter = "dc1".into();
    h.node_class = "x".into();
    assert_ne!(compute_class(&g), compute_class(&h));
}

#[test]
fn register_rejections_change_nothing() {
    let mut s = populated();
    assert!(
        rejected(&mut s, 9, register_node(node("")))
            .to_string()
            .contains("empty ID")
    );
    let mut bad = node("n9");
    bad.status = "sleeping".into();
    assert!(
        rejected(&mut s, 9, register_node(bad))
            .to_string()
            .contains("unknown status")
    );
    let mut bad = node("n9");
    bad.scheduling_eligibility = "maybe".into();
    assert!(
        rejected(&mut s, 9, register_node(bad))
            .to_string()
            .contains("eligibility")
    );
}

#[test]
fn status_update_changes_status_only_when_different() {
    let mut s = populated();
    s.apply(10, status("n1", "down")).unwrap();
    let n = s.node("n1").unwrap();
    assert_eq!((n.status.as_str(), n.modify_index), ("down", 10));
    assert_eq!(n.status_updated_at, NOW / 1_000_000_000 + 1);
    s.apply(11, status("n1", "down")).unwrap();
    assert_eq!(s.node("n1").unwrap().modify_index, 10);
    assert_eq!(s.index(table::NODES), 10);
    assert!(matches!(
        rejected(&mut s, 12, status("zz", "down")),
        StateError::NodeNotFound(_)
    ));
    assert!(
        rejected(&mut s, 12, status("n1", "gone"))
            .to_string()
            .contains("unknown status")
    );
}

#[test]
fn eligibility_cannot_be_set_while_draining() {
    let mut s = populated();
    s.apply(10, elig("n1", "ineligible")).unwrap();
    assert_eq!(s.node("n1").unwrap().scheduling_eligibility, "ineligible");
    s.apply(11, elig("n1", "eligible")).unwrap();
    s.apply(12, drain("n1", Some(DrainStrategy::default()), false))
        .unwrap();
    let err = rejected(&mut s, 13, elig("n1", "eligible"));
    assert!(
        err.to_string().starts_with(
            "can not set node's scheduling eligibility to eligible while it is draining"
        )
    );
    assert!(
        rejected(&mut s, 13, elig("n1", "sure"))
            .to_string()
            .contains("eligibility")
    );
    assert!(matches!(
        rejected(&mut s, 13, elig("zz", "eligible")),
        StateError::NodeNotFound(_)
    ));
}

#[test]
fn drain_sets_ineligible_and_deadlines_and_clearing_can_mark_eligible() {
    let mut s = populated();
    let strat = DrainStrategy {
        deadline: 60_000_000_000,
        ..Default::default()
    };
    s.apply(10, drain("n1", Some(strat), false)).unwrap();
    let n = s.node("n1").unwrap();
    let d = n.drain_strategy.as_ref().unwrap();
    assert_eq!(
        (d.started_at.0, d.force_deadline.0),
        (NOW, NOW + 60_000_000_000)
    );
    assert!(n.drain);
    assert_eq!(n.scheduling_eligibility, eligibility::INELIGIBLE);
    assert!(!n.is_schedulable());
    s.apply(11, drain("n1", None, false)).unwrap();
    let n = s.node("n1").unwrap();
    assert!(!n.drain && n.drain_strategy.is_none());
    assert_eq!(n.scheduling_eligibility, eligibility::INELIGIBLE);
    s.apply(
        12,
        drain(
            "n1",
            Some(DrainStrategy {
                deadline: -1,
                ..Default::default()
            }),
            false,
        ),
    )
    .unwrap();
    assert_eq!(
        s.node("n1")
            .unwrap()
            .drain_strategy
            .as_ref()
            .unwrap()
            .force_deadline
            .0,
        NOW
    );
    s.apply(13, drain("n1", None, true)).unwrap();
    assert!(s.node("n1").unwrap().is_schedulable());
    assert!(matches!(
        rejected(&mut s, 14, drain("zz", None, true)),
        StateError::NodeNotFound(_)
    ));
}

#[test]
fn node_events_are_capped() {
    let mut s = populated();
    for i in 0..20u64 {
        s.apply(10 + i, drain("n1", None, false)).unwrap();
    }
    assert_eq!(s.node("n1").unwrap().events.len(), MAX_RETAINED_NODE_EVENTS);
}

#[test]
fn deregister_refuses_nodes_with_live_allocs_and_takes_terminal_ones() {
    let mut s = populated();
    let dereg = |ids: &[&str]| {
        Command::NodeDeregister(NodeDeregister {
            node_ids: ids.iter().map(|s| s.to_string()).collect(),
        })
    };
    assert!(
        rejected(&mut s, 10, dereg(&["n1"]))
            .to_string()
            .contains("non-terminal allocations")
    );
    assert!(matches!(
        rejected(&mut s, 10, dereg(&["zz"])),
        StateError::NodeNotFound(_)
    ));
    assert!(
        rejected(&mut s, 10, dereg(&[]))
            .to_string()
            .contains("no node IDs")
    );
    let upd = AllocClientUpdate {
        allocs: vec![client_update("a1", client_status::COMPLETE)],
        evals: vec![],
        now: NOW,
    };
    s.apply(10, Command::AllocClientUpdate(upd)).unwrap();
    // n2 still has a live alloc: the whole command is refused.
    assert!(
        rejected(&mut s, 11, dereg(&["n1", "n2"]))
            .to_string()
            .contains("\"n2\"")
    );
    s.apply(11, dereg(&["n1"])).unwrap();
    assert!(s.node("n1").is_none());
    assert!(s.alloc("a1").is_none());
    assert!(s.allocs_by_node("n1").is_empty());
    assert_eq!(s.index(table::ALLOCS), 11);
}
