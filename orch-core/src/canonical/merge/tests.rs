use super::*;
use serde_json::json;

#[test]
fn partial_restart_gets_defaults_underneath() {
    let mut job = json!({"Type": "batch", "TaskGroups": [{"RestartPolicy": {"Attempts": 0},
            "Tasks": [{"RestartPolicy": {"Delay": 1}}]}]});
    merge_partial_blocks(&mut job);
    let rp = &job["TaskGroups"][0]["RestartPolicy"];
    assert_eq!(rp["Attempts"], 0);
    assert_eq!(rp["Interval"], 86_400_000_000_000_i64);
    assert_eq!(rp["Mode"], "fail");
    let task_rp = &job["TaskGroups"][0]["Tasks"][0]["RestartPolicy"];
    assert_eq!(task_rp["Delay"], 1);
    assert_eq!(task_rp["Attempts"], 0);
}

#[test]
fn job_update_flows_into_groups_under_their_own() {
    let mut job = json!({"Update": {"MaxParallel": 3, "Canary": 1},
            "TaskGroups": [{"Update": {"Canary": 2}}, {}]});
    merge_partial_blocks(&mut job);
    let g0 = &job["TaskGroups"][0]["Update"];
    assert_eq!(
        (g0["MaxParallel"].as_u64(), g0["Canary"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(g0["HealthCheck"], "checks");
    assert_eq!(job["TaskGroups"][1]["Update"]["Canary"], 1);
}

#[test]
fn job_reschedule_moves_into_groups() {
    let mut job = json!({"Reschedule": {"Attempts": 5, "Interval": 1}, "TaskGroups": [{}]});
    merge_partial_blocks(&mut job);
    assert!(job.get("Reschedule").is_none());
    let rp = &job["TaskGroups"][0]["ReschedulePolicy"];
    assert_eq!(rp["Attempts"], 5);
    assert_eq!(rp["DelayFunction"], "exponential");
}

#[test]
fn scaling_min_sets_absent_count_and_cores_zero_cpu() {
    let mut job = json!({"TaskGroups": [{"Scaling": {"Min": 3, "Max": 9},
            "Tasks": [{"Resources": {"Cores": 2}}]}]});
    merge_partial_blocks(&mut job);
    assert_eq!(job["TaskGroups"][0]["Count"], 3);
    assert_eq!(job["TaskGroups"][0]["Scaling"]["Type"], "horizontal");
    assert_eq!(job["TaskGroups"][0]["Tasks"][0]["Resources"]["CPU"], 0);
}
