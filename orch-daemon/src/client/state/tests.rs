use super::*;

#[test]
fn identity_is_stable_and_allocs_round_trip() {
    let root = std::env::temp_dir().join(format!("orch-client-state-{}", std::process::id()));
    let dir = StateDir::open(&root).unwrap();
    let id = dir.node_identity().unwrap();
    assert_eq!(StateDir::open(&root).unwrap().node_identity().unwrap(), id);
    let state = LocalAllocState {
        alloc: Allocation {
            id: "a1".into(),
            ..Allocation::default()
        },
        tasks: [("web".to_string(), LocalTaskState::default())].into(),
        client_status: "running".into(),
        client_description: String::new(),
        deployment_health: None,
        health_deployment: None,
    };
    dir.save(&state).unwrap();
    let loaded = dir.load_all();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].alloc.id, "a1");
    dir.remove("a1").unwrap();
    assert!(dir.load_all().is_empty());
    let _ = std::fs::remove_dir_all(root);
}
