use super::*;
use crate::model::{Affinity, AllocatedTaskResources, NodeDevice};

fn group(vendor: &str, name: &str, ids: &[&str], mem: &str) -> NodeDeviceResource {
    let mut d = NodeDeviceResource {
        vendor: vendor.into(),
        device_type: "gpu".into(),
        name: name.into(),
        ..Default::default()
    };
    d.instances = ids
        .iter()
        .map(|id| NodeDevice {
            id: (*id).into(),
            healthy: !id.ends_with("-bad"),
            ..Default::default()
        })
        .collect();
    d.attributes.insert("memory".into(), mem.into());
    d
}

fn node(groups: Vec<NodeDeviceResource>) -> Node {
    let mut n = Node {
        id: "n1".into(),
        ..Node::default()
    };
    n.node_resources.devices = groups;
    n
}

fn req(name: &str, count: u64, share: Option<f64>) -> RequestedDevice {
    RequestedDevice {
        name: name.into(),
        count,
        share: share.map(DeviceShare::from_fraction),
        ..Default::default()
    }
}

fn alloc_holding(devices: Vec<AllocatedDeviceResource>) -> Allocation {
    let mut a = Allocation::default();
    a.allocated_resources.tasks.insert(
        "t".into(),
        AllocatedTaskResources {
            devices,
            ..Default::default()
        },
    );
    a
}

#[test]
fn whole_requests_take_free_instances_and_skip_shared_or_unhealthy_ones() {
    let n = node(vec![group(
        "nvidia",
        "T4",
        &["g0-bad", "g1", "g2", "g3"],
        "16 GiB",
    )]);
    let mut ledger = DeviceLedger::default();
    let half = assign_request(&n, &req("nvidia/gpu", 1, Some(0.5)), &mut ledger).unwrap();
    assert_eq!(half.device_ids, vec!["g1"]);
    let two = assign_request(&n, &req("gpu", 2, None), &mut ledger).unwrap();
    assert_eq!(two.device_ids, vec!["g2", "g3"], "g1 is partly held");
    assert_eq!(two.share, None);
    let err = assign_request(&n, &req("gpu", 1, None), &mut ledger).unwrap_err();
    assert_eq!(err, "devices: gpu has no free instance");
    let err = assign_request(&n, &req("gpu", 2, None), &mut ledger).unwrap_err();
    assert_eq!(err, "devices: gpu has no 2 free instances");
}

#[test]
fn shares_fill_the_fullest_started_instance_first_and_never_pass_one() {
    let n = node(vec![group("nvidia", "T4", &["g0", "g1"], "16 GiB")]);
    let mut ledger = DeviceLedger::default();
    let take = |l: &mut DeviceLedger, s: f64| {
        assign_request(&n, &req("nvidia/gpu", 1, Some(s)), l).map(|d| d.device_ids[0].clone())
    };
    assert_eq!(take(&mut ledger, 0.5).unwrap(), "g0");
    assert_eq!(
        take(&mut ledger, 0.25).unwrap(),
        "g0",
        "fills the started one"
    );
    assert_eq!(take(&mut ledger, 0.5).unwrap(), "g1", "0.75 + 0.5 > 1");
    assert_eq!(
        take(&mut ledger, 0.25).unwrap(),
        "g0",
        "the fuller of the two that fit"
    );
    assert_eq!(take(&mut ledger, 0.25).unwrap(), "g1");
    assert_eq!(ledger.held("g0"), WHOLE_SHARE);
    assert_eq!(ledger.held("g1"), 750_000);
    assert_eq!(
        take(&mut ledger, 0.5).unwrap_err(),
        "devices: nvidia/gpu has no instance with 0.5 free"
    );
    // Thirds add up exactly.
    let mut ledger = DeviceLedger::default();
    for _ in 0..3 {
        assert_eq!(take(&mut ledger, 1.0 / 3.0).unwrap(), "g0");
    }
}

#[test]
fn affinities_choose_the_device_group() {
    let n = node(vec![
        group("nvidia", "T4", &["t0"], "16 GiB"),
        group("nvidia", "A100", &["a0"], "40 GiB"),
    ]);
    let mut r = req("nvidia/gpu", 1, None);
    let mut ledger = DeviceLedger::default();
    assert_eq!(
        assign_request(&n, &r, &mut ledger.clone()).unwrap().name,
        "T4"
    );
    r.affinities = vec![Affinity {
        ltarget: "${device.attr.memory}".into(),
        rtarget: "32 GiB".into(),
        operand: ">=".into(),
        weight: 50,
    }];
    let got = assign_request(&n, &r, &mut ledger).unwrap();
    assert_eq!(
        (got.name.as_str(), got.device_ids[0].as_str()),
        ("A100", "a0")
    );
}

#[test]
fn verification_refuses_twice_given_over_committed_and_unknown_instances() {
    let n = node(vec![group("nvidia", "T4", &["g0", "g1"], "16 GiB")]);
    let dev = |id: &str, share: Option<f64>| AllocatedDeviceResource {
        vendor: "nvidia".into(),
        device_type: "gpu".into(),
        name: "T4".into(),
        device_ids: vec![id.into()],
        share: share.map(DeviceShare::from_fraction),
    };
    let check = |allocs: Vec<Allocation>| verify_node(&n, allocs.iter(), allocs.iter());
    assert!(
        check(vec![
            alloc_holding(vec![dev("g0", Some(0.5))]),
            alloc_holding(vec![dev("g0", Some(0.5))])
        ])
        .is_ok()
    );
    let over = check(vec![
        alloc_holding(vec![dev("g0", Some(0.75))]),
        alloc_holding(vec![dev("g0", Some(0.5))]),
    ])
    .unwrap_err();
    assert!(
        over.contains("device g0 would be over-committed (1.25"),
        "{over}"
    );
    let twice = check(vec![
        alloc_holding(vec![dev("g1", None)]),
        alloc_holding(vec![dev("g1", None)]),
    ])
    .unwrap_err();
    assert!(twice.contains("device g1 assigned twice"), "{twice}");
    let mixed = check(vec![
        alloc_holding(vec![dev("g1", None)]),
        alloc_holding(vec![dev("g1", Some(0.1))]),
    ]);
    assert!(mixed.is_err(), "a whole instance is not shared");
    let unknown = check(vec![alloc_holding(vec![dev("zz", None)])]).unwrap_err();
    assert!(
        unknown.contains("device zz is not on the node"),
        "{unknown}"
    );
    let bad = check(vec![alloc_holding(vec![dev("g0", Some(1.5))])]).unwrap_err();
    assert!(bad.contains("share of 1.5"), "{bad}");
}
