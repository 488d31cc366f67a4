use proptest::prelude::*;

use super::*;
use crate::model::NodeDevice;

fn node(instances: usize, unhealthy: usize) -> Node {
    let mut n = Node {
        id: "n1".into(),
        ..Node::default()
    };
    n.node_resources.devices = vec![NodeDeviceResource {
        vendor: "nvidia".into(),
        device_type: "gpu".into(),
        name: "T4".into(),
        instances: (0..instances)
            .map(|i| NodeDevice {
                id: format!("g{i}"),
                healthy: i >= unhealthy,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }];
    n
}

/// A request: whole instances (`share` 0) or a share in millionths.
fn request(count: u64, share: i64) -> RequestedDevice {
    RequestedDevice {
        name: "nvidia/gpu".into(),
        count: if share > 0 { 1 } else { count },
        share: (share > 0).then_some(DeviceShare(share)),
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever requests arrive, assignment never puts an instance over one whole, never
    /// hands out an unhealthy instance, never shares a whole one, and says no only when
    /// no instance could take the request.
    #[test]
    fn packing_never_overcommits(
        instances in 1usize..5,
        unhealthy in 0usize..2,
        reqs in prop::collection::vec((1u64..3, prop_oneof![Just(0i64), 1i64..=1_000_000]), 1..40),
    ) {
        let n = node(instances, unhealthy);
        let mut ledger = DeviceLedger::default();
        let mut whole: Vec<String> = Vec::new();
        for (count, share) in reqs {
            let r = request(count, share);
            let before = ledger.clone();
            match assign_request(&n, &r, &mut ledger) {
                Ok(d) => {
                    for id in &d.device_ids {
                        prop_assert!(!id.starts_with("g0") || unhealthy == 0, "unhealthy {id}");
                        prop_assert!(!whole.contains(id), "whole instance {id} shared");
                    }
                    if d.share.is_none() {
                        for id in &d.device_ids {
                            prop_assert_eq!(before.held(id), 0);
                        }
                        whole.extend(d.device_ids.iter().cloned());
                    }
                }
                Err(e) => {
                    prop_assert!(e.starts_with("devices: nvidia/gpu"), "{e}");
                    prop_assert_eq!(&ledger, &before);
                    let room = (unhealthy.min(instances)..instances)
                        .map(|i| WHOLE_SHARE - before.held(&format!("g{i}")));
                    let need = r.share.map_or(WHOLE_SHARE, |s| s.0);
                    let fitting = room.filter(|free| *free >= need).count() as u64;
                    prop_assert!(fitting < r.count.max(1), "refused though {fitting} fit");
                }
            }
            for (id, held) in ledger.iter() {
                prop_assert!(held <= WHOLE_SHARE, "{id} holds {held}");
            }
        }
    }
}
