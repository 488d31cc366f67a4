use super::*;

#[test]
fn wrapped_job_with_nulls_parses_and_canonicalizes() {
    let text = r#"{"Job": {"ID": "web", "Name": null, "Update": null, "Datacenters": ["dc1"],
            "TaskGroups": [{"Name": "g", "Count": 2, "Constraints": null,
              "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/sleep", "args": ["5"]},
                "Resources": {"CPU": 200, "MemoryMB": 64}, "Identity": {"Name": "default", "Env": false}}]}]}}"#;
    let job = parse_job_json(text).unwrap();
    assert_eq!(job.name, "web");
    assert_eq!(job.priority, 50);
    assert_eq!(job.task_groups[0].count, 2);
    assert_eq!(job.task_groups[0].tasks[0].resources.cpu, 200);
    assert_eq!(
        job.task_groups[0].tasks[0].config.0["command"],
        "/bin/sleep"
    );
}

#[test]
fn wrong_type_names_the_path() {
    let text = r#"{"ID": "x", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Resources": {"MemoryMB": "lots"}}]}]}"#;
    let err = parse_job_json(text).unwrap_err().to_string();
    assert!(
        err.contains("TaskGroups[0].Tasks[0].Resources.MemoryMB"),
        "{err}"
    );
}

#[test]
fn unsupported_fields_are_refused_not_ignored() {
    let text = r#"{"ID": "x", "Multiregion": {"Regions": [{"Name": "east"}]}, "TaskGroups": [{"Name": "g",
            "Tasks": [{"Name": "t", "Driver": "d", "Vault": {"Policies": ["p"]}}]}]}"#;
    let err = parse_job_json(text).unwrap_err().to_string();
    assert!(
        err.contains("Multiregion") && err.contains("TaskGroups[0].Tasks[0].Vault"),
        "{err}"
    );
}

#[test]
fn validation_reports_every_problem_with_paths() {
    let text = r#"{"ID": "x", "Priority": 500, "TaskGroups": [{"Name": "g",
            "Tasks": [{"Name": "t", "Driver": "d", "Resources": {"MemoryMB": 4}}, {"Name": "u"}]}]}"#;
    let err = parse_job_json(text).unwrap_err().to_string();
    for want in [
        "Priority: job priority must be between [1, 100]",
        "TaskGroups[0].Tasks[0].Resources.MemoryMB: minimum MemoryMB value is 10; got 4",
        "TaskGroups[0].Tasks[1].Driver: Missing task driver",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
}

#[test]
fn syntax_error_has_position() {
    let err = parse_job_json("{\n  \"ID\": }").unwrap_err();
    assert!(
        matches!(err, JsonJobError::Syntax { line: 2, .. }),
        "{err:?}"
    );
}
