use super::*;
use crate::model::{NodePoolSchedulerConfiguration, SchedulerAlgorithm, job_status};
use crate::state::testutil::*;
use crate::state::{Command, JobDeregister};

fn pool(name: &str) -> NodePool {
    NodePool {
        name: name.into(),
        description: format!("pool {name}"),
        ..NodePool::default()
    }
}

fn upsert(p: NodePool) -> Command {
    Command::NodePoolUpsert(NodePoolUpsert { pools: vec![p] })
}

fn delete(name: &str) -> Command {
    Command::NodePoolDelete(NodePoolDelete {
        names: vec![name.into()],
    })
}

fn pool_names(s: &StateStore) -> Vec<&str> {
    s.node_pools().map(|p| p.name.as_str()).collect()
}

#[test]
fn built_ins_exist_and_cannot_be_changed_or_deleted() {
    let mut s = StateStore::new();
    assert_eq!(pool_names(&s), ["all", "default"]);
    for name in ["all", "default"] {
        let e = rejected(&mut s, 1, upsert(pool(name)));
        assert!(e.to_string().contains("is not allowed"), "{e}");
        let e = rejected(&mut s, 1, delete(name));
        assert!(e.to_string().contains("built-in"), "{e}");
    }
}

#[test]
fn upsert_stamps_indexes_and_keeps_the_create_index() {
    let mut s = StateStore::new();
    s.apply(3, upsert(pool("gpu"))).unwrap();
    let mut p = pool("gpu");
    p.description = "changed".into();
    s.apply(5, upsert(p)).unwrap();
    let got = s.node_pool("gpu").unwrap();
    assert_eq!((got.create_index, got.modify_index), (3, 5));
    assert_eq!(got.description, "changed");
    assert_eq!(s.index(NODE_POOLS_TABLE), 5);
    let e = rejected(&mut s, 6, upsert(pool("bad name")));
    assert!(e.to_string().contains("invalid node pool"), "{e}");
}

#[test]
fn a_node_registering_into_a_new_pool_creates_it_but_cannot_join_all() {
    let mut s = StateStore::new();
    let mut n = node("n1");
    n.node_pool = "edge".into();
    s.apply(2, register_node(n)).unwrap();
    assert_eq!(pool_names(&s), ["all", "default", "edge"]);
    assert_eq!(s.node_pool("edge").unwrap().create_index, 2);
    assert_eq!(s.nodes_in_pool("edge").count(), 1);
    assert_eq!(s.nodes_in_pool("all").count(), 1);
    assert_eq!(s.nodes_in_pool("default").count(), 0);
    let mut bad = node("n2");
    bad.node_pool = "all".into();
    let e = rejected(&mut s, 3, register_node(bad));
    assert!(e.to_string().contains("cannot be joined"), "{e}");
}

#[test]
fn a_job_in_a_missing_pool_is_refused_and_a_pool_in_use_is_kept() {
    let mut s = StateStore::new();
    let mut j = job("web");
    j.node_pool = "gpu".into();
    let e = rejected(&mut s, 2, register(j.clone()));
    assert!(
        e.to_string()
            .contains(r#"job "web" is in nonexistent node pool "gpu""#),
        "{e}"
    );
    s.apply(3, upsert(pool("gpu"))).unwrap();
    s.apply(4, register(j)).unwrap();
    let e = rejected(&mut s, 5, delete("gpu"));
    assert!(e.to_string().contains("non-terminal jobs"), "{e}");
    // A stopped job no longer holds the pool.
    s.apply(
        6,
        Command::JobDeregister(JobDeregister {
            namespace: "default".into(),
            job_id: "web".into(),
            purge: false,
            eval: None,
            now: NOW,
        }),
    )
    .unwrap();
    assert_eq!(s.job("default", "web").unwrap().status, job_status::DEAD);
    s.apply(7, delete("gpu")).unwrap();
    assert!(s.node_pool("gpu").is_none());
    let e = rejected(&mut s, 8, delete("gpu"));
    assert!(e.to_string().contains("not found"), "{e}");
}

#[test]
fn a_pool_with_nodes_cannot_be_deleted() {
    let mut s = StateStore::new();
    let mut n = node("n1");
    n.node_pool = "edge".into();
    s.apply(2, register_node(n)).unwrap();
    let e = rejected(&mut s, 3, delete("edge"));
    assert!(e.to_string().contains("has nodes"), "{e}");
}

#[test]
fn a_pools_scheduler_configuration_overrides_the_clusters_for_its_jobs() {
    let mut s = StateStore::new();
    let mut p = pool("spready");
    p.scheduler_configuration = Some(NodePoolSchedulerConfiguration {
        scheduler_algorithm: "spread".into(),
        memory_oversubscription_enabled: Some(true),
    });
    s.apply(2, upsert(p)).unwrap();
    let mut j = job("web");
    j.node_pool = "spready".into();
    s.apply(3, register(j)).unwrap();
    s.apply(4, register(job("other"))).unwrap();
    let in_pool = s.scheduler_config_for(&eval("e1", "web"));
    assert_eq!(in_pool.scheduler_algorithm, SchedulerAlgorithm::Spread);
    assert!(in_pool.memory_oversubscription_enabled);
    let outside = s.scheduler_config_for(&eval("e2", "other"));
    assert_eq!(outside, *s.scheduler_config());
}

#[test]
fn pools_survive_a_snapshot_byte_identically() {
    let mut s = StateStore::new();
    s.apply(2, upsert(pool("gpu"))).unwrap();
    let mut n = node("n1");
    n.node_pool = "edge".into();
    s.apply(3, register_node(n)).unwrap();
    let bytes = s.snapshot().unwrap();
    let back = StateStore::restore(&bytes).unwrap();
    assert_eq!(pool_names(&back), ["all", "default", "edge", "gpu"]);
    assert_eq!(back.node_pool("gpu"), s.node_pool("gpu"));
    assert_eq!(back.snapshot().unwrap(), bytes);
}
