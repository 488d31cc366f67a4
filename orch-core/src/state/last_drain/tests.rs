use super::*;
use crate::model::DrainStrategy;
use crate::state::Command;
use crate::state::testutil::*;

fn drain(on: bool, complete: bool, now: i64) -> NodeDrain {
    NodeDrain {
        node_id: "n1".into(),
        drain_strategy: on.then(DrainStrategy::default),
        mark_eligible: false,
        drain_complete: complete,
        now,
    }
}

fn by_operator(d: NodeDrain, meta: &[(&str, &str)], accessor: &str) -> Command {
    Command::NodeDrainMeta(NodeDrainMeta {
        drain: d,
        meta: meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        accessor_id: accessor.into(),
    })
}

#[test]
fn a_drain_is_recorded_from_start_to_cancel_or_completion() {
    let mut s = StateStore::new();
    s.apply(2, register_node(node("n1"))).unwrap();
    assert!(s.last_drain("n1").is_none());
    s.apply(
        3,
        by_operator(drain(true, false, 10), &[("message", "kernel")], "acc-1"),
    )
    .unwrap();
    let d = s.last_drain("n1").unwrap().clone();
    assert_eq!(
        (d.status.as_str(), d.started_at.0, d.accessor_id.as_str()),
        ("draining", 10, "acc-1")
    );
    assert_eq!(d.meta["message"], "kernel");
    // Updating the running drain keeps its start.
    s.apply(
        4,
        by_operator(drain(true, false, 20), &[("message", "again")], "acc-2"),
    )
    .unwrap();
    let d = s.last_drain("n1").unwrap().clone();
    assert_eq!((d.started_at.0, d.updated_at.0), (10, 20));
    assert_eq!(d.meta["message"], "again");
    // The operator cancels: the cancel message joins the record.
    s.apply(
        5,
        by_operator(
            drain(false, false, 30),
            &[("cancel_message", "oops")],
            "acc-3",
        ),
    )
    .unwrap();
    let d = s.last_drain("n1").unwrap().clone();
    assert_eq!((d.status.as_str(), d.updated_at.0), ("canceled", 30));
    assert_eq!(
        (
            d.meta["message"].as_str(),
            d.meta["cancel_message"].as_str()
        ),
        ("again", "oops")
    );
    // A new drain starts a new record; the drainer completes it and keeps its author.
    s.apply(6, by_operator(drain(true, false, 40), &[], "acc-4"))
        .unwrap();
    assert!(s.last_drain("n1").unwrap().meta.is_empty());
    s.apply(7, Command::NodeDrain(drain(false, true, 50)))
        .unwrap();
    let d = s.last_drain("n1").unwrap().clone();
    assert_eq!(
        (d.status.as_str(), d.started_at.0, d.accessor_id.as_str()),
        ("complete", 40, "acc-4")
    );
    // Survives a snapshot, goes with the node.
    let back = StateStore::restore(&s.snapshot().unwrap()).unwrap();
    assert_eq!(back.last_drain("n1"), Some(&d));
    s.apply(
        8,
        Command::NodeDeregister(crate::state::NodeDeregister {
            node_ids: vec!["n1".into()],
        }),
    )
    .unwrap();
    assert!(s.last_drain("n1").is_none());
}
