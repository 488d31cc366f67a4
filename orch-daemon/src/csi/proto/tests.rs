//! The hand-written messages against encodings worked out by hand from `csi.proto`'s
//! field numbers and types: a wrong tag or type here would silently break interop.

use prost::Message;

use super::*;

fn roundtrip<M: Message + Default + PartialEq + std::fmt::Debug>(msg: &M, expected: &[u8]) {
    let bytes = msg.encode_to_vec();
    assert_eq!(bytes, expected, "encoding of {msg:?}");
    assert_eq!(&M::decode(bytes.as_slice()).unwrap(), msg);
}

#[test]
fn identity_messages_use_the_spec_field_numbers() {
    let info = GetPluginInfoResponse {
        name: "a".into(),
        vendor_version: "b".into(),
        manifest: [("k".to_string(), "v".to_string())].into(),
    };
    // 1: string, 2: string, 3: map entry {1: key, 2: value}.
    roundtrip(
        &info,
        &[
            0x0a, 1, b'a', 0x12, 1, b'b', 0x1a, 6, 0x0a, 1, b'k', 0x12, 1, b'v',
        ],
    );
    let caps = GetPluginCapabilitiesResponse {
        capabilities: vec![PluginCapability::service(
            PluginServiceType::VolumeAccessibilityConstraints,
        )],
    };
    // capabilities = 1 → PluginCapability { service = 1 { type = 1: 2 } }.
    roundtrip(&caps, &[0x0a, 4, 0x0a, 2, 0x08, 2]);
    let probe = ProbeResponse {
        ready: Some(BoolValue { value: true }),
    };
    roundtrip(&probe, &[0x0a, 2, 0x08, 1]);
}

#[test]
fn volume_capability_is_oneof_access_type_then_mode() {
    let cap = VolumeCapability::mount(AccessMode::SingleNodeWriter, "ext4", vec!["ro".into()]);
    // mount = 2 { fs_type = 1, mount_flags = 2 }, access_mode = 3 { mode = 1: 1 }.
    let expected = [
        0x12, 10, 0x0a, 4, b'e', b'x', b't', b'4', 0x12, 2, b'r', b'o', 0x1a, 2, 0x08, 1,
    ];
    roundtrip(&cap, &expected);
    let block = VolumeCapability::block(AccessMode::MultiNodeMultiWriter);
    roundtrip(&block, &[0x0a, 0, 0x1a, 2, 0x08, 5]);
    assert_eq!(block.mode(), AccessMode::MultiNodeMultiWriter);
}

#[test]
fn controller_messages_use_the_spec_field_numbers() {
    let req = CreateVolumeRequest {
        name: "v".into(),
        capacity_range: Some(CapacityRange {
            required_bytes: 1,
            limit_bytes: 2,
        }),
        volume_content_source: Some(VolumeContentSource::snapshot("s")),
        ..Default::default()
    };
    // name = 1, capacity_range = 2 {1, 2}, volume_content_source = 6 { snapshot = 1 { 1 } }.
    roundtrip(
        &req,
        &[
            0x0a, 1, b'v', 0x12, 4, 0x08, 1, 0x10, 2, 0x32, 5, 0x0a, 3, 0x0a, 1, b's',
        ],
    );
    let vol = Volume {
        capacity_bytes: 3,
        volume_id: "v".into(),
        accessible_topology: vec![Topology {
            segments: [("a".to_string(), "b".to_string())].into(),
        }],
        ..Default::default()
    };
    // capacity_bytes = 1, volume_id = 2, accessible_topology = 5 { segments = 1 }.
    roundtrip(
        &vol,
        &[
            0x08, 3, 0x12, 1, b'v', 0x2a, 8, 0x0a, 6, 0x0a, 1, b'a', 0x12, 1, b'b',
        ],
    );
    let publish = ControllerPublishVolumeRequest {
        volume_id: "v".into(),
        node_id: "n".into(),
        readonly: true,
        ..Default::default()
    };
    roundtrip(&publish, &[0x0a, 1, b'v', 0x12, 1, b'n', 0x20, 1]);
    let caps = ControllerGetCapabilitiesResponse {
        capabilities: vec![ControllerServiceCapability::rpc(
            ControllerRpc::ListSnapshots,
        )],
    };
    roundtrip(&caps, &[0x0a, 4, 0x0a, 2, 0x08, 6]);
}

#[test]
fn snapshot_messages_use_the_spec_field_numbers() {
    let snap = Snapshot {
        size_bytes: 5,
        snapshot_id: "s".into(),
        source_volume_id: "v".into(),
        creation_time: Some(Timestamp {
            seconds: 7,
            nanos: 8,
        }),
        ready_to_use: true,
        group_snapshot_id: String::new(),
    };
    roundtrip(
        &snap,
        &[
            0x08, 5, 0x12, 1, b's', 0x1a, 1, b'v', 0x22, 4, 0x08, 7, 0x10, 8, 0x28, 1,
        ],
    );
    let list = ListSnapshotsRequest {
        max_entries: 2,
        starting_token: "t".into(),
        source_volume_id: "v".into(),
        snapshot_id: "s".into(),
        ..Default::default()
    };
    roundtrip(
        &list,
        &[0x08, 2, 0x12, 1, b't', 0x1a, 1, b'v', 0x22, 1, b's'],
    );
}

#[test]
fn node_messages_use_the_spec_field_numbers() {
    let publish = NodePublishVolumeRequest {
        volume_id: "v".into(),
        staging_target_path: "/s".into(),
        target_path: "/t".into(),
        readonly: true,
        ..Default::default()
    };
    // volume_id = 1, staging_target_path = 3, target_path = 4, readonly = 6.
    roundtrip(
        &publish,
        &[
            0x0a, 1, b'v', 0x1a, 2, b'/', b's', 0x22, 2, b'/', b't', 0x30, 1,
        ],
    );
    let stage = NodeStageVolumeRequest {
        volume_id: "v".into(),
        staging_target_path: "/s".into(),
        volume_capability: Some(VolumeCapability::mount(
            AccessMode::SingleNodeWriter,
            "",
            vec![],
        )),
        ..Default::default()
    };
    // staging_target_path = 3, volume_capability = 4 { mount = 2 {}, access_mode = 3 }.
    roundtrip(
        &stage,
        &[
            0x0a, 1, b'v', 0x1a, 2, b'/', b's', 0x22, 6, 0x12, 0, 0x1a, 2, 0x08, 1,
        ],
    );
    let info = NodeGetInfoResponse {
        node_id: "n".into(),
        max_volumes_per_node: 4,
        accessible_topology: Some(Topology::default()),
    };
    roundtrip(&info, &[0x0a, 1, b'n', 0x10, 4, 0x1a, 0]);
    let caps = NodeGetCapabilitiesResponse {
        capabilities: vec![NodeServiceCapability::rpc(NodeRpc::StageUnstageVolume)],
    };
    roundtrip(&caps, &[0x0a, 4, 0x0a, 2, 0x08, 1]);
}

#[test]
fn unknown_fields_from_newer_plugins_are_skipped() {
    // A Snapshot with the alpha field 6 and an unknown field 99 (varint).
    let bytes = [0x12, 1, b's', 0x32, 1, b'g', 0x98, 0x06, 1];
    let snap = Snapshot::decode(bytes.as_slice()).unwrap();
    assert_eq!(snap.snapshot_id, "s");
    assert_eq!(snap.group_snapshot_id, "g");
}
