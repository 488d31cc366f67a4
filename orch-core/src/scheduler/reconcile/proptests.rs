//! Property: with no update limits, applying the results leaves exactly `count` live
//! allocations with unique names, whatever mix of statuses and nodes came in.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::tests::{NOW, S, World, alloc, job};
use crate::model::{Node, client_status, desired_status, node_status};

fn statuses() -> impl Strategy<Value = (u8, bool, bool)> {
    (0u8..6, any::<bool>(), any::<bool>())
}

proptest! {
    #[test]
    fn live_count_matches_and_names_unique(
        count in 0u32..8,
        slots in proptest::collection::btree_map(0u32..12, statuses(), 0..12),
        extra_terminal in proptest::collection::vec(0u32..12, 0..4),
    ) {
        let j = job(count);
        let mut allocs = Vec::new();
        for (&i, &(status, on_down, migrate)) in &slots {
            let mut a = alloc(&j, i);
            a.client_status = match status {
                0 | 1 => client_status::RUNNING,
                2 => client_status::PENDING,
                3 => client_status::COMPLETE,
                4 => client_status::FAILED,
                _ => client_status::LOST,
            }
            .into();
            if status == 4 {
                a.modify_time = NOW - 3600 * S;
            }
            if on_down {
                a.node_id = "down".into();
            }
            a.desired_transition.migrate = Some(migrate);
            allocs.push(a);
        }
        for (k, &i) in extra_terminal.iter().enumerate() {
            let mut a = alloc(&j, i);
            a.id = format!("t{k}");
            a.desired_status = desired_status::STOP.into();
            a.client_status = client_status::COMPLETE.into();
            allocs.push(a);
        }
        let mut w = World::new(j, allocs);
        w.tainted.insert(
            "down".into(),
            Node { id: "down".into(), status: node_status::DOWN.into(), ..Node::default() },
        );
        let r = w.run();
        let again = w.run();
        prop_assert_eq!(&r, &again);

        let gone: BTreeSet<&str> = r
            .stop
            .iter()
            .map(|s| s.alloc_id.as_str())
            .chain(r.destructive_update.iter().map(|d| d.stop_alloc_id.as_str()))
            .collect();
        let mut live: Vec<String> = w
            .allocs
            .iter()
            .filter(|a| !a.terminal() && !gone.contains(a.id.as_str()))
            .map(|a| a.name.clone())
            .collect();
        live.extend(r.place.iter().map(|p| p.name.clone()));
        live.extend(r.destructive_update.iter().map(|d| d.place.name.clone()));
        prop_assert_eq!(live.len(), count as usize, "live {:?}", live);
        let unique: BTreeSet<&String> = live.iter().collect();
        prop_assert_eq!(unique.len(), live.len(), "names {:?}", live);
    }
}
