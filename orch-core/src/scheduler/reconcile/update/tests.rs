use super::*;
use crate::model::{Resources, Task, TaskGroup};

fn job() -> Job {
    Job {
        id: "web".into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            tasks: vec![Task {
                name: "t".into(),
                driver: "docker".into(),
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

#[test]
fn classifies_changes() {
    let old = job();
    let mut same = old.clone();
    same.version = 1;
    same.task_groups[0].count = 5;
    same.task_groups[0].tasks[0].kill_timeout = 1;
    assert!(
        !tasks_updated(&same, &old, "g"),
        "count/kill_timeout are in place"
    );

    let mut env = old.clone();
    env.task_groups[0].tasks[0]
        .env
        .insert("A".into(), "1".into());
    assert!(tasks_updated(&env, &old, "g"));

    let mut res = old.clone();
    res.task_groups[0].tasks[0].resources = Resources {
        cpu: 1,
        ..Resources::default()
    };
    assert!(tasks_updated(&res, &old, "g"));

    let mut meta = old.clone();
    meta.meta.insert("k".into(), "v".into());
    assert!(tasks_updated(&meta, &old, "g"));

    assert!(tasks_updated(&old, &old, "missing"));
}
