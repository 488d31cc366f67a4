use super::*;

#[test]
fn fingerprint_reports_this_machine() {
    let config = ClientConfig {
        meta: [("rack".to_string(), "r1".to_string())].into(),
        ..ClientConfig::default()
    };
    let dir = std::env::temp_dir();
    let input = FingerprintInput {
        node_id: "n1",
        secret_id: "s1",
        name: "test-node",
        datacenter: "dc1",
        http_addr: "127.0.0.1:4646",
        bind_addr: "127.0.0.1",
        alloc_dir: &dir,
        config: &config,
    };
    let node = fingerprint(&input, &DriverRegistry::default());
    assert_eq!(node.attributes["kernel.name"], "linux");
    assert_eq!(node.attributes["unique.network.ip-address"], "127.0.0.1");
    assert!(node.node_resources.cpu.cpu_shares > 0);
    assert!(node.node_resources.memory.memory_mb > 100);
    assert!(node.node_resources.disk.disk_mb > 0);
    assert_eq!(node.node_resources.networks[0].device, "lo");
    assert_eq!(node.meta["rack"], "r1");
    assert!(!node.attributes["kernel.version"].is_empty());
    assert!(!node.attributes["unique.hostname"].is_empty());
}
