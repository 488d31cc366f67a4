use super::*;
use crate::model::Port;

fn net(static_ports: &[(&str, u16)], dynamic: &[&str]) -> NetworkResource {
    NetworkResource {
        reserved_ports: static_ports
            .iter()
            .map(|(l, v)| Port {
                label: l.to_string(),
                value: *v,
                ..Port::default()
            })
            .collect(),
        dynamic_ports: dynamic
            .iter()
            .map(|l| Port {
                label: l.to_string(),
                ..Port::default()
            })
            .collect(),
        ..NetworkResource::default()
    }
}

#[test]
fn port_specs() {
    let s = parse_port_spec("22, 80,8000-8002").unwrap();
    assert_eq!(
        s.into_iter().collect::<Vec<_>>(),
        vec![22, 80, 8000, 8001, 8002]
    );
    assert!(parse_port_spec("80-20").is_err());
    assert!(parse_port_spec("http").is_err());
}

#[test]
fn static_collisions_and_dynamic_range() {
    let mut node = Node::default();
    node.reserved_resources.networks.reserved_host_ports = "22".into();
    node.node_resources.min_dynamic_port = 30000;
    node.node_resources.max_dynamic_port = 30002;
    let mut idx = PortIndex::for_node(&node, []).unwrap();
    let mut rng = SchedRng::new(1);
    assert!(
        idx.assign(&[net(&[("ssh", 22)], &[])], &mut rng)
            .unwrap_err()
            .contains("ssh=22")
    );
    let (nets, maps) = idx
        .assign(&[net(&[("http", 80)], &["a", "b", "c"])], &mut rng)
        .unwrap();
    let dyns: BTreeSet<u16> = nets[0].dynamic_ports.iter().map(|p| p.value).collect();
    assert_eq!(
        dyns.into_iter().collect::<Vec<_>>(),
        vec![30000, 30001, 30002]
    );
    assert_eq!(maps.len(), 4);
    // The range is exhausted now, and port 80 is taken.
    assert!(idx.assign(&[net(&[], &["d"])], &mut rng).is_err());
    assert!(idx.assign(&[net(&[("x", 80)], &[])], &mut rng).is_err());
    assert!(idx.is_used(80));
}
