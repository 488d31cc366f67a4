//! Helpers shared by the integration tests.

use std::path::Path;

pub mod nomad_json;

/// Every `.hcl` fixture under `tests/jobspecs/<dir>`, as (file name, text), sorted by name.
// Not every test file that declares `mod common;` loads jobspec fixtures.
#[allow(dead_code)]
pub fn fixtures(dir: &str) -> Vec<(String, String)> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/jobspecs")
        .join(dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&base).unwrap_or_else(|e| panic!("{}: {e}", base.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_some_and(|e| e == "hcl") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            out.push((name, src));
        }
    }
    out.sort();
    out
}

/// A ready Linux node with 4000 MHz, 8 GiB, 50 GB and a healthy `raw_exec` in `dc1`,
/// named by `i`: what the simulation tests place their jobs on.
// Not every test file that declares `mod common;` simulates a cluster.
#[allow(dead_code)]
pub fn linux_node(i: usize) -> orch_core::model::Node {
    let mut n = orch_core::model::Node {
        id: format!("node-{i:03}"),
        name: format!("host{i}"),
        datacenter: "dc1".into(),
        ..Default::default()
    };
    n.node_resources.cpu.cpu_shares = 4000;
    n.node_resources.memory.memory_mb = 8192;
    n.node_resources.disk.disk_mb = 50_000;
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.drivers.insert(
        "raw_exec".into(),
        orch_core::model::DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        },
    );
    n.computed_class = orch_core::state::compute_class(&n);
    n
}
