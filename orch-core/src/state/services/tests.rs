use super::*;
use crate::model::client_status;
use crate::state::testutil::*;
use crate::state::{AllocClientState, AllocClientUpdate, Command};

fn reg(id: &str, alloc: &str, node: &str) -> ServiceRegistration {
    ServiceRegistration {
        id: id.into(),
        service_name: "web".into(),
        namespace: "default".into(),
        node_id: node.into(),
        job_id: "j".into(),
        alloc_id: alloc.into(),
        address: "127.0.0.1".into(),
        port: 8080,
        ..ServiceRegistration::default()
    }
}

#[test]
fn registrations_follow_their_allocation() {
    let mut s = populated();
    let (alloc_id, node_id) = ("a1".to_string(), "n1".to_string());
    let next = s.latest_index() + 1;
    s.apply(
        next,
        Command::ServiceUpsert(ServiceUpsert {
            services: vec![reg("s1", &alloc_id, &node_id)],
        }),
    )
    .unwrap();
    assert_eq!(s.services_by_alloc(&alloc_id).len(), 1);
    assert_eq!(s.service("s1").unwrap().create_index, next);
    // Re-registering the same thing writes nothing new.
    s.apply(
        next + 1,
        Command::ServiceUpsert(ServiceUpsert {
            services: vec![reg("s1", &alloc_id, &node_id)],
        }),
    )
    .unwrap();
    assert_eq!(s.service("s1").unwrap().modify_index, next);
    // Wrong node or unknown allocation: refused, nothing written.
    let before = s.clone();
    assert!(
        s.apply(
            next + 2,
            Command::ServiceUpsert(ServiceUpsert {
                services: vec![reg("s2", &alloc_id, "other")],
            }),
        )
        .is_err()
    );
    assert_eq!(s, before);
    // The allocation ends: its registration goes.
    s.apply(
        next + 3,
        Command::AllocClientUpdate(AllocClientUpdate {
            allocs: vec![AllocClientState {
                id: alloc_id.clone(),
                client_status: client_status::COMPLETE.into(),
                ..AllocClientState::default()
            }],
            evals: vec![],
            now: 1,
        }),
    )
    .unwrap();
    assert!(s.service("s1").is_none());
    assert!(s.services_by_alloc(&alloc_id).is_empty());
    let r = StateStore::restore(&s.snapshot().unwrap()).unwrap();
    assert_eq!(r, s);
}
