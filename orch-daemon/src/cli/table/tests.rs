use super::*;

#[test]
fn columns_align() {
    let rows = vec![
        vec!["ID".into(), "Type".into()],
        vec!["web-long".into(), "service".into()],
    ];
    assert_eq!(columns(&rows), "ID        Type\nweb-long  service");
}

#[test]
fn kv_aligns() {
    assert_eq!(
        kv(&[("ID", "web".into()), ("Priority", "50".into())]),
        "ID       = web\nPriority = 50"
    );
}

#[test]
fn formats_times() {
    assert_eq!(time(0), "1970-01-01T00:00:00Z");
    assert_eq!(time(1_714_564_800_000_000_000), "2024-05-01T12:00:00Z");
}

#[test]
fn metrics_lines() {
    let m = serde_json::json!({"NodesEvaluated": 3, "NodesExhausted": 2,
            "DimensionExhausted": {"cpu": 2}, "CoalescedFailures": 1});
    let lines = failed_groups(&serde_json::json!({"g": m}), "");
    assert_eq!(
        lines,
        [
            "Task Group \"g\" (failed to place 2 allocations):",
            "  * Resources exhausted on 2 nodes",
            "  * Dimension \"cpu\" exhausted on 2 nodes",
        ]
    );
}
