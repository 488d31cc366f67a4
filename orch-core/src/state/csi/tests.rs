use super::*;
use crate::model::csi::{CsiCapability, CsiNodeInfo};
use crate::model::{VolumeRequest, client_status};
use crate::state::testutil::*;
use crate::state::{AllocClientUpdate, Command, NodeDeregister};

fn volume(id: &str) -> CsiVolume {
    CsiVolume {
        id: id.into(),
        name: id.into(),
        namespace: "default".into(),
        external_id: format!("ext-{id}"),
        plugin_id: "hostpath".into(),
        requested_capabilities: vec![CsiCapability {
            access_mode: access_mode::SINGLE_NODE_WRITER.into(),
            attachment_mode: attachment_mode::FILE_SYSTEM.into(),
        }],
        ..CsiVolume::default()
    }
}

fn register_volume(v: CsiVolume) -> Command {
    Command::CsiVolumeRegister(CsiVolumeRegister { volumes: vec![v] })
}

/// `populated()` with job "web"'s group asking for CSI volume `source`.
fn store_with_claims(source: &str, per_alloc: bool) -> StateStore {
    let mut s = StateStore::new();
    s.apply(1, register_node(node("n1"))).unwrap();
    s.apply(2, register_node(node("n2"))).unwrap();
    let mut j = job("web");
    j.task_groups[0].volumes.insert(
        "data".into(),
        VolumeRequest {
            name: "data".into(),
            kind: "csi".into(),
            source: source.into(),
            access_mode: access_mode::SINGLE_NODE_WRITER.into(),
            attachment_mode: attachment_mode::FILE_SYSTEM.into(),
            per_alloc,
            ..VolumeRequest::default()
        },
    );
    s.apply(3, register(j)).unwrap();
    let p = plan(vec![
        alloc("a1", "web", "n1", 0),
        alloc("a2", "web", "n2", 1),
    ]);
    s.apply(4, Command::ApplyPlanResults(p)).unwrap();
    s
}

#[test]
fn claims_are_the_live_allocations_that_ask_for_the_volume() {
    let mut s = store_with_claims("vol", false);
    s.apply(5, register_volume(volume("vol"))).unwrap();
    let claims = s.csi_claims("default", "vol");
    assert_eq!(claims.len(), 2);
    assert!(claims.iter().all(|c| c.write));
    assert_eq!(claims[0].node_id, "n1");

    let err = rejected(
        &mut s,
        6,
        Command::CsiVolumeDeregister(CsiVolumeDeregister {
            namespace: "default".into(),
            ids: vec!["vol".into()],
        }),
    );
    assert!(err.to_string().contains("in use by 2"), "{err}");

    let done = AllocClientUpdate {
        allocs: vec![
            client_update("a1", client_status::COMPLETE),
            client_update("a2", client_status::FAILED),
        ],
        evals: vec![],
        now: NOW,
    };
    s.apply(6, Command::AllocClientUpdate(done)).unwrap();
    assert!(s.csi_claims("default", "vol").is_empty());
    s.apply(
        7,
        Command::CsiVolumeDeregister(CsiVolumeDeregister {
            namespace: "default".into(),
            ids: vec!["vol".into()],
        }),
    )
    .unwrap();
    assert!(s.csi_volume("default", "vol").is_none());
    assert_eq!(s.index(csi_table::VOLUMES), 7);
}

#[test]
fn per_alloc_claims_resolve_the_index() {
    let s = store_with_claims("db", true);
    let c0 = s.csi_claims("default", "db[0]");
    let c1 = s.csi_claims("default", "db[1]");
    assert_eq!((c0.len(), c1.len()), (1, 1));
    assert_eq!(c0[0].alloc_id, "a1");
    assert_eq!(c1[0].alloc_id, "a2");
    assert!(s.csi_claims("default", "db").is_empty());
    assert!(s.csi_claims("default", "db[2]").is_empty());
}

#[test]
fn bad_volumes_are_refused_naming_the_field() {
    let mut s = StateStore::new();
    let mut v = volume("a/b");
    assert!(
        rejected(&mut s, 1, register_volume(v.clone()))
            .to_string()
            .contains("volume ID")
    );
    v.id = "ok".into();
    v.requested_capabilities[0].access_mode = "everyone".into();
    assert!(
        rejected(&mut s, 1, register_volume(v.clone()))
            .to_string()
            .contains("access_mode")
    );
    v.requested_capabilities.clear();
    assert!(
        rejected(&mut s, 1, register_volume(v.clone()))
            .to_string()
            .contains("capability")
    );
    let mut v = volume("ok");
    v.namespace = "nowhere".into();
    assert!(
        rejected(&mut s, 1, register_volume(v))
            .to_string()
            .contains("namespace")
    );
}

fn plugin_report(healthy: bool) -> NodeCsiPlugins {
    let info = CsiInfo {
        plugin_id: "hostpath".into(),
        healthy,
        provider: "orch.hostpath.csi".into(),
        node_info: Some(CsiNodeInfo {
            id: "n1".into(),
            ..CsiNodeInfo::default()
        }),
        ..CsiInfo::default()
    };
    NodeCsiPlugins {
        controllers: [("hostpath".to_string(), info.clone())].into(),
        nodes: [("hostpath".to_string(), info)].into(),
    }
}

#[test]
fn plugins_come_from_node_reports_and_leave_with_the_node() {
    let mut s = StateStore::new();
    s.apply(1, register_node(node("n1"))).unwrap();
    let report = |plugins| {
        Command::CsiNodePlugins(CsiNodePluginsUpdate {
            node_id: "n1".into(),
            plugins,
        })
    };
    s.apply(2, report(plugin_report(true))).unwrap();
    let view = s.csi_plugins();
    let p = &view["hostpath"];
    assert_eq!((p.controllers_healthy(), p.nodes_healthy()), (1, 1));
    assert_eq!(p.provider, "orch.hostpath.csi");
    assert_eq!(s.index(csi_table::PLUGINS), 2);

    // Unchanged report: nothing to commit, the index stays.
    s.apply(3, report(plugin_report(true))).unwrap();
    assert_eq!(s.index(csi_table::PLUGINS), 2);

    s.apply(4, report(plugin_report(false))).unwrap();
    assert_eq!(s.csi_plugins()["hostpath"].nodes_healthy(), 0);

    assert!(matches!(
        rejected(
            &mut s,
            5,
            Command::CsiNodePlugins(CsiNodePluginsUpdate {
                node_id: "ghost".into(),
                plugins: plugin_report(true),
            })
        ),
        StateError::NodeNotFound(_)
    ));
    s.apply(
        5,
        Command::NodeDeregister(NodeDeregister {
            node_ids: vec!["n1".into()],
        }),
    )
    .unwrap();
    assert!(s.csi_plugins().is_empty());
    assert_eq!(s.index(csi_table::PLUGINS), 5);
}

#[test]
fn snapshots_keep_volumes_and_plugins() {
    let mut s = StateStore::new();
    s.apply(1, register_node(node("n1"))).unwrap();
    s.apply(
        2,
        Command::CsiNodePlugins(CsiNodePluginsUpdate {
            node_id: "n1".into(),
            plugins: plugin_report(true),
        }),
    )
    .unwrap();
    s.apply(3, register_volume(volume("vol"))).unwrap();
    let bytes = s.snapshot().unwrap();
    let back = StateStore::restore(&bytes).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.snapshot().unwrap(), bytes);
    assert_eq!(back.csi_volume("default", "vol").unwrap().create_index, 3);
}
