use super::*;

fn job(jtype: &str) -> Job {
    Job {
        id: "web".into(),
        job_type: jtype.into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count: 0,
            tasks: vec![Task {
                name: "t".into(),
                driver: "raw_exec".into(),
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

#[test]
fn service_defaults() {
    let mut j = job("service");
    canonicalize_job(&mut j);
    assert_eq!(j.name, "web");
    assert_eq!(j.datacenters, vec!["*".to_string()]);
    assert_eq!(j.node_pool, "default");
    let g = &j.task_groups[0];
    assert_eq!(g.restart_policy.as_ref().map(|r| r.attempts), Some(2));
    assert!(g.reschedule_policy.as_ref().is_some_and(|r| r.unlimited));
    assert_eq!(g.update.as_ref().map(|u| u.max_parallel), Some(1));
    assert!(g.migrate.is_some());
    assert_eq!(g.tasks[0].restart_policy, g.restart_policy);
}

#[test]
fn system_and_batch_differ() {
    let mut s = job("system");
    canonicalize_job(&mut s);
    let g = &s.task_groups[0];
    assert_eq!(g.count, 1);
    assert!(g.reschedule_policy.is_none());
    assert!(g.update.is_none() && g.migrate.is_none());
    let mut b = job("batch");
    canonicalize_job(&mut b);
    let g = &b.task_groups[0];
    assert_eq!(g.count, 0);
    assert_eq!(g.restart_policy.as_ref().map(|r| r.attempts), Some(3));
    assert_eq!(g.reschedule_policy.as_ref().map(|r| r.attempts), Some(1));
}

#[test]
fn idempotent() {
    let mut j = job("service");
    canonicalize_job(&mut j);
    let once = j.clone();
    canonicalize_job(&mut j);
    assert_eq!(j, once);
}
