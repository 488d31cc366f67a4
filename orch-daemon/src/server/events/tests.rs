use super::*;
use orch_core::model::{Job, Node, eval_status, node_status};
use orch_core::state::{EvalUpsert, JobDeregister, JobRegister, NodeDeregister, NodeRegister};

fn apply(store: &mut StateStore, cmd: Command) -> Vec<Event> {
    let index = store.latest_index() + 1;
    let before = Before::capture(store, &cmd);
    let (result, changed) = store.apply_batched(index, cmd);
    result.unwrap();
    derive(store, index, before, &changed)
}

fn job() -> Job {
    let mut j = Job {
        id: "web".into(),
        ..Job::default()
    };
    orch_core::canonical::canonicalize_job(&mut j);
    j
}

#[test]
fn commands_become_nomad_typed_events_with_their_objects() {
    let mut s = StateStore::new();
    let eval = Evaluation {
        id: "e1".into(),
        status: eval_status::PENDING.into(),
        ..Evaluation::default()
    };
    let ev = apply(
        &mut s,
        Command::JobRegister(JobRegister {
            job: job(),
            eval: Some(eval.clone()),
            enforce_index: None,
            preserve_counts: false,
            now: 1,
        }),
    );
    let kinds: Vec<(&str, &str, &str)> = ev
        .iter()
        .map(|e| (e.topic, e.event_type, e.key.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Job", "JobRegistered", "web"),
            ("Evaluation", "JobRegistered", "e1")
        ]
    );
    assert_eq!(ev[1].filter_keys, ["web"]);
    let json = serde_json::to_value(&ev[0]).unwrap();
    assert_eq!(json["Payload"]["Job"]["ID"], "web");
    assert_eq!(json["Namespace"], "default");

    let mut done = eval;
    done.status = eval_status::COMPLETE.into();
    let ev = apply(
        &mut s,
        Command::EvalUpsert(EvalUpsert { evals: vec![done] }),
    );
    assert!(
        ev.iter()
            .any(|e| e.topic == "Evaluation" && e.event_type == "EvaluationUpdated")
    );

    let ev = apply(
        &mut s,
        Command::JobDeregister(JobDeregister {
            namespace: "default".into(),
            job_id: "web".into(),
            purge: true,
            eval: None,
            now: 2,
        }),
    );
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].topic, ev[0].event_type), ("Job", "JobDeregistered"));
}

#[test]
fn nodes_are_reported_without_secrets_and_when_deregistered() {
    let mut s = StateStore::new();
    let node = Node {
        id: "n1".into(),
        secret_id: "secret".into(),
        status: node_status::READY.into(),
        ..Node::default()
    };
    let ev = apply(&mut s, Command::NodeRegister(NodeRegister { node, now: 1 }));
    assert_eq!(ev[0].event_type, "NodeRegistration");
    let json = serde_json::to_value(&ev[0]).unwrap();
    assert_eq!(json["Payload"]["Node"]["SecretID"], "");
    let ev = apply(
        &mut s,
        Command::NodeDeregister(NodeDeregister {
            node_ids: vec!["n1".into()],
        }),
    );
    assert_eq!(
        (ev[0].topic, ev[0].event_type, ev[0].key.as_str()),
        ("Node", "NodeDeregistration", "n1")
    );
}

#[test]
fn subscribers_replay_from_an_index_then_follow_live() {
    let broker = EventBroker::new(2);
    let ev = |i| {
        let mut s = StateStore::new();
        let node = Node {
            id: format!("n{i}"),
            ..Node::default()
        };
        apply(&mut s, Command::NodeRegister(NodeRegister { node, now: 1 }))
    };
    for i in 1..=3 {
        broker.publish(i, ev(i));
    }
    // Capacity 2: index 1 fell out; asking for it starts at the oldest kept.
    let sub = broker.subscribe(1);
    let replayed: Vec<u64> = sub.replay.iter().map(|b| b.index).collect();
    assert_eq!(replayed, [2, 3]);
    let mut sub = broker.subscribe(3);
    assert_eq!(sub.replay.len(), 1);
    broker.publish(4, ev(4));
    assert_eq!(sub.live.try_recv().unwrap().index, 4);
}

#[test]
fn subscribers_are_counted_until_they_go() {
    let broker = EventBroker::new(2);
    assert_eq!(broker.subscribers(), 0);
    let a = broker.subscribe(0);
    let b = broker.subscribe(0);
    assert_eq!(broker.subscribers(), 2);
    drop(a);
    assert_eq!(broker.subscribers(), 1);
    drop(b);
    assert_eq!(broker.subscribers(), 0);
}

#[test]
fn acl_commands_become_acl_events_without_secrets() {
    use orch_core::model::acl::{AclPolicy, AclToken};
    use orch_core::state::{AclPolicyDelete, AclPolicyUpsert, AclTokenDelete, AclTokenUpsert};
    let mut s = StateStore::new();
    let policy = AclPolicy {
        name: "readonly".into(),
        rules: r#"namespace "default" { policy = "read" }"#.into(),
        ..AclPolicy::default()
    };
    let ev = apply(
        &mut s,
        Command::AclPolicyUpsert(AclPolicyUpsert {
            policies: vec![policy],
        }),
    );
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].topic, ev[0].event_type),
        ("ACLPolicy", "ACLPolicyUpserted")
    );
    assert_eq!(ev[0].key, "readonly");
    let json = serde_json::to_value(&ev[0]).unwrap();
    assert_eq!(json["Payload"]["ACLPolicy"]["Name"], "readonly");
    // Nomad's policy carries its workload attachment (none here).
    let policy = json["Payload"]["ACLPolicy"].as_object().unwrap();
    assert!(policy.get("JobACL").is_some_and(|j| j.is_null()));
    assert!(
        json["Payload"]["ACLPolicy"]["ModifyIndex"]
            .as_u64()
            .unwrap()
            > 0
    );

    let token = AclToken {
        accessor_id: "acc-1".into(),
        secret_hash: "deadbeef".repeat(8),
        name: "ci".into(),
        token_type: "client".into(),
        policies: vec!["readonly".into()],
        ..AclToken::default()
    };
    let ev = apply(
        &mut s,
        Command::AclTokenUpsert(AclTokenUpsert {
            tokens: vec![token],
        }),
    );
    assert_eq!(
        (ev[0].topic, ev[0].event_type),
        ("ACLToken", "ACLTokenUpserted")
    );
    let text = serde_json::to_string(&ev[0]).unwrap();
    assert!(
        !text.contains("deadbeef") && !text.contains("SecretHash"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["Payload"]["ACLToken"]["AccessorID"], "acc-1");
    assert_eq!(json["Payload"]["ACLToken"]["SecretID"], "");
    assert_eq!(json["Namespace"], "");

    let ev = apply(
        &mut s,
        Command::AclTokenDelete(AclTokenDelete {
            accessors: vec!["acc-1".into()],
        }),
    );
    assert_eq!(
        (ev[0].event_type, ev[0].key.as_str()),
        ("ACLTokenDeleted", "acc-1")
    );
    let ev = apply(
        &mut s,
        Command::AclPolicyDelete(AclPolicyDelete {
            names: vec!["readonly".into()],
        }),
    );
    assert_eq!(
        (ev[0].event_type, ev[0].key.as_str()),
        ("ACLPolicyDeleted", "readonly")
    );
    let json = serde_json::to_value(&ev[0]).unwrap();
    assert_eq!(json["Payload"]["ACLPolicy"]["Name"], "readonly");
}

#[test]
fn csi_volumes_registered_and_deregistered_are_events() {
    use orch_core::model::csi::{CsiCapability, CsiVolume, access_mode, attachment_mode};
    use orch_core::state::{CsiVolumeDeregister, CsiVolumeRegister};
    let mut s = StateStore::new();
    let vol = CsiVolume {
        id: "db".into(),
        name: "db".into(),
        namespace: "default".into(),
        external_id: "ext-db".into(),
        plugin_id: "hostpath".into(),
        requested_capabilities: vec![CsiCapability {
            access_mode: access_mode::SINGLE_NODE_WRITER.into(),
            attachment_mode: attachment_mode::FILE_SYSTEM.into(),
        }],
        ..CsiVolume::default()
    };
    let register = CsiVolumeRegister { volumes: vec![vol] };
    let ev = apply(&mut s, Command::CsiVolumeRegister(register));
    let kinds: Vec<_> = ev
        .iter()
        .map(|e| (e.topic, e.event_type, e.key.as_str()))
        .collect();
    assert_eq!(kinds, [("CSIVolume", "CSIVolumeRegistered", "db")]);
    assert_eq!(ev[0].filter_keys, ["hostpath"]);
    let json = serde_json::to_value(&ev[0]).unwrap();
    assert_eq!(json["Payload"]["Volume"]["ExternalID"], "ext-db");
    let deregister = CsiVolumeDeregister {
        namespace: "default".into(),
        ids: vec!["db".into()],
    };
    let ev = apply(&mut s, Command::CsiVolumeDeregister(deregister));
    let kinds: Vec<_> = ev
        .iter()
        .map(|e| (e.topic, e.event_type, e.key.as_str()))
        .collect();
    assert_eq!(kinds, [("CSIVolume", "CSIVolumeDeregistered", "db")]);
}

#[test]
fn node_pools_written_and_deleted_are_events() {
    use orch_core::model::NodePool;
    use orch_core::state::{NodePoolDelete, NodePoolUpsert};
    let mut s = StateStore::new();
    let pool = NodePool {
        name: "gpu".into(),
        description: "accelerators".into(),
        ..NodePool::default()
    };
    let ev = apply(
        &mut s,
        Command::NodePoolUpsert(NodePoolUpsert { pools: vec![pool] }),
    );
    let kinds: Vec<_> = ev
        .iter()
        .map(|e| (e.topic, e.event_type, e.key.as_str()))
        .collect();
    assert_eq!(kinds, [("NodePool", "NodePoolUpserted", "gpu")]);
    let json = serde_json::to_value(&ev[0]).unwrap();
    assert_eq!(json["Payload"]["NodePool"]["Description"], "accelerators");
    let delete = NodePoolDelete {
        names: vec!["gpu".into()],
    };
    let ev = apply(&mut s, Command::NodePoolDelete(delete));
    let kinds: Vec<_> = ev
        .iter()
        .map(|e| (e.topic, e.event_type, e.key.as_str()))
        .collect();
    assert_eq!(kinds, [("NodePool", "NodePoolDeleted", "gpu")]);
}

/// Topic, type and key of each event.
fn kinds(ev: &[Event]) -> Vec<(&str, &str, &str)> {
    ev.iter()
        .map(|e| (e.topic, e.event_type, e.key.as_str()))
        .collect()
}

#[test]
fn variables_written_and_deleted_are_events_without_their_items() {
    use orch_core::model::variable::{RootKeyMeta, VariableEncrypted};
    use orch_core::state::{RootKeyUpsert, VarApply, VarOp};
    let mut s = StateStore::new();
    let key = RootKeyMeta {
        key_id: "k1".into(),
        algorithm: "aes256-gcm".into(),
        public_key: vec![7; 32],
        ..RootKeyMeta::default()
    };
    assert!(apply(&mut s, Command::RootKeyUpsert(RootKeyUpsert { key })).is_empty());
    let var = VariableEncrypted {
        namespace: "default".into(),
        path: "app/db".into(),
        key_id: "k1".into(),
        nonce: vec![1; 12],
        ciphertext: b"sealed-secret".to_vec(),
        ..VariableEncrypted::default()
    };
    let op = |op, check_index| {
        Command::VarApply(VarApply {
            op,
            var: var.clone(),
            check_index,
            now: 5,
        })
    };
    let ev = apply(&mut s, op(VarOp::Set, None));
    assert_eq!(kinds(&ev), [("Variable", "VariableUpdated", "app/db")]);
    let json = serde_json::to_value(&ev[0]).unwrap();
    assert_eq!(json["Namespace"], "default");
    assert_eq!(json["Payload"]["Variable"]["Path"], "app/db");
    assert_eq!(json["Payload"]["Variable"]["ModifyIndex"], 2);
    assert!(json["Payload"]["Variable"].get("Items").is_none(), "{json}");
    assert!(
        !json.to_string().contains("sealed"),
        "no ciphertext: {json}"
    );
    let ev = apply(&mut s, op(VarOp::Delete, None));
    assert_eq!(kinds(&ev), [("Variable", "VariableDeleted", "app/db")]);
}

#[test]
fn csi_plugin_instances_reported_are_events() {
    use orch_core::model::csi::{CsiInfo, NodeCsiPlugins};
    use orch_core::state::CsiNodePluginsUpdate;
    let mut s = StateStore::new();
    let node = Node {
        id: "n1".into(),
        status: node_status::READY.into(),
        ..Node::default()
    };
    apply(&mut s, Command::NodeRegister(NodeRegister { node, now: 1 }));
    let info = CsiInfo {
        plugin_id: "hostpath".into(),
        healthy: true,
        provider: "orch.hostpath.csi".into(),
        ..CsiInfo::default()
    };
    let report = |plugins| {
        Command::CsiNodePlugins(CsiNodePluginsUpdate {
            node_id: "n1".into(),
            plugins,
        })
    };
    let running = NodeCsiPlugins {
        nodes: [("hostpath".to_string(), info)].into(),
        ..NodeCsiPlugins::default()
    };
    let ev = apply(&mut s, report(running));
    assert_eq!(kinds(&ev), [("CSIPlugin", "CSIPluginUpdated", "hostpath")]);
    let json = serde_json::to_value(&ev[0]).unwrap();
    assert_eq!(json["Payload"]["Plugin"]["NodesExpected"], 1, "{json}");
    assert_eq!(json["Payload"]["Plugin"]["Provider"], "orch.hostpath.csi");
    // The plugin leaves the node: the event shows it with no instances.
    let ev = apply(&mut s, report(NodeCsiPlugins::default()));
    assert_eq!(kinds(&ev), [("CSIPlugin", "CSIPluginUpdated", "hostpath")]);
    let json = serde_json::to_value(&ev[0]).unwrap();
    assert_eq!(json["Payload"]["Plugin"]["NodesExpected"], 0, "{json}");
}
