use super::*;

#[test]
fn the_example_is_a_valid_jobspec() {
    let job =
        orch_core::jobspec::parse_jobspec(DEFAULT_FILE, EXAMPLE, &Default::default()).unwrap();
    assert_eq!(job.id, "example");
    assert_eq!(job.task_groups[0].tasks[0].driver, "raw_exec");
}

#[test]
fn writes_once_and_refuses_to_overwrite() {
    let path = std::env::temp_dir().join(format!("orch-init-{}.nomad.hcl", std::process::id()));
    let arg = vec![path.to_string_lossy().to_string()];
    assert_eq!(run(&arg).unwrap(), ExitCode::SUCCESS);
    assert!(run(&arg).unwrap_err().contains("already exists"));
    std::fs::remove_file(path).ok();
}

#[test]
fn the_short_example_parses_and_has_no_comments() {
    let short = short_example();
    assert!(!short.contains('#'));
    let job = orch_core::jobspec::parse_jobspec(DEFAULT_FILE, &short, &Default::default()).unwrap();
    assert_eq!(job.id, "example");
}
