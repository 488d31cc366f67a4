//! The c1m-cluster bench (`src/bin/c1m-cluster`) in a tiny run: three real servers in
//! one process, a few c1m nodes registered and heartbeating over the client endpoints,
//! c1m jobs registered through the Nomad API, until every allocation is applied on all
//! three servers. Proves the bench works end to end; its speed is measured in release
//! (`benches/README.md`, "c1m-cluster"), never asserted here.

#[test]
fn a_tiny_c1m_cluster_run_commits_every_allocation_on_all_three_servers() {
    // The bench gives up (and exits 1) when nothing is committed for `--stall` seconds,
    // so a stuck cluster fails the test instead of hanging it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_c1m-cluster"))
        .args(["--nodes", "40", "--allocs", "600", "--stall", "60"])
        .output()
        .expect("run c1m-cluster");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no report; stderr: {stderr}"));
    assert!(out.status.success(), "{report}; stderr: {stderr}");
    assert_eq!(report["nodes_registered"], 40, "{report}");
    assert_eq!(report["nodes_ready"], 40, "{report}");
    assert_eq!(report["nodes_down"], 0, "{report}");
    assert_eq!(
        report["allocs_per_server"],
        serde_json::json!([600, 600, 600]),
        "{report}"
    );
    assert!(
        report["allocs_per_sec"].as_f64().unwrap_or(0.0) > 0.0,
        "{report}"
    );
    assert!(
        report["raft_log_bytes"][0].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
}
