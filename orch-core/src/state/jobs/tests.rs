use super::*;
use crate::model::{ScalingPolicy, eval_status, job_status};
use crate::state::testutil::*;
use crate::state::{ChangedKeys, Command, EvalUpsert, JobKey, table};

fn reg(job: Job) -> JobRegister {
    JobRegister {
        job,
        eval: None,
        enforce_index: None,
        preserve_counts: false,
        now: NOW,
    }
}

fn changed(mut j: Job, n: usize) -> Job {
    j.meta.insert("rev".into(), n.to_string());
    j
}

#[test]
fn new_job_starts_at_version_zero_pending() {
    let mut s = StateStore::new();
    let r = s.apply(5, register(job("web"))).unwrap();
    assert_eq!((r.index, r.job_modify_index, r.job_version), (5, 5, 0));
    let j = s.job("default", "web").unwrap();
    assert_eq!(
        (j.create_index, j.modify_index, j.job_modify_index),
        (5, 5, 5)
    );
    assert_eq!(j.submit_time, NOW);
    assert_eq!(j.status, job_status::PENDING);
    assert_eq!(s.job_versions("default", "web").len(), 1);
    assert_eq!(s.index(table::JOBS), 5);
    assert_eq!(s.index(table::JOB_VERSION), 5);
    assert_eq!(s.latest_index(), 5);
}

#[test]
fn unchanged_spec_writes_nothing_but_stores_the_eval() {
    let mut s = StateStore::new();
    s.apply(1, register(job("web"))).unwrap();
    let mut c = reg(job("web"));
    c.job.status = "running".into(); // ignored fields
    c.job.version = 42;
    c.eval = Some(eval("e2", "web"));
    c.now = NOW + 1;
    let r = s.apply(2, Command::JobRegister(c)).unwrap();
    assert_eq!(
        (r.job_modify_index, r.job_version, r.eval_id.as_str()),
        (1, 0, "e2")
    );
    let j = s.job("default", "web").unwrap();
    assert_eq!((j.modify_index, j.version, j.submit_time), (1, 0, NOW));
    // The job was pending and stays pending with a pending eval: only evals changed.
    assert_eq!((s.index(table::JOBS), s.index(table::JOB_VERSION)), (1, 1));
    assert_eq!(s.index(table::EVALS), 2);
    assert_eq!(s.eval("e2").unwrap().job_modify_index, 1);
}

#[test]
fn changed_spec_bumps_version_and_keeps_create_index() {
    let mut s = StateStore::new();
    s.apply(1, register(job("web"))).unwrap();
    let mut c = reg(changed(job("web"), 1));
    c.now = NOW + 10;
    let r = s.apply(3, Command::JobRegister(c)).unwrap();
    assert_eq!((r.job_modify_index, r.job_version), (3, 1));
    let j = s.job("default", "web").unwrap();
    assert_eq!(
        (j.create_index, j.modify_index, j.job_modify_index),
        (1, 3, 3)
    );
    assert_eq!(j.submit_time, NOW + 10);
    let versions: Vec<u64> = s
        .job_versions("default", "web")
        .iter()
        .map(|j| j.version)
        .collect();
    assert_eq!(versions, vec![1, 0]);
    assert!(spec_changed(s.job_version("default", "web", 0).unwrap(), j));
}

#[test]
fn only_six_versions_are_tracked_but_the_newest_stable_survives() {
    let mut s = StateStore::new();
    s.apply(1, register(job("web"))).unwrap();
    let stab = JobStability {
        namespace: "default".into(),
        job_id: "web".into(),
        version: 0,
        stable: true,
    };
    s.apply(2, Command::JobStability(stab)).unwrap();
    for n in 1..=8 {
        s.apply(2 + n as u64, register(changed(job("web"), n)))
            .unwrap();
    }
    let versions: Vec<u64> = s
        .job_versions("default", "web")
        .iter()
        .map(|j| j.version)
        .collect();
    assert_eq!(versions, vec![8, 7, 6, 5, 4, 0]);
}

#[test]
fn enforce_index_follows_nomad() {
    let mut s = StateStore::new();
    let mut c = reg(job("web"));
    c.enforce_index = Some(3);
    let err = rejected(&mut s, 1, Command::JobRegister(c.clone()));
    assert_eq!(
        err.to_string(),
        "Enforcing job modify index 3: job does not exist"
    );
    c.enforce_index = Some(0);
    s.apply(1, Command::JobRegister(c.clone())).unwrap();
    let err = rejected(&mut s, 2, Command::JobRegister(c.clone()));
    assert_eq!(
        err.to_string(),
        "Enforcing job modify index 0: job already exists"
    );
    c.enforce_index = Some(5);
    let err = rejected(&mut s, 2, Command::JobRegister(c.clone()));
    assert_eq!(
        err.to_string(),
        "Enforcing job modify index 5: job exists with conflicting job modify index: 1"
    );
    c.enforce_index = Some(1);
    c.job = changed(c.job, 1);
    assert_eq!(s.apply(2, Command::JobRegister(c)).unwrap().job_version, 1);
}

#[test]
fn preserve_counts_keeps_existing_group_counts() {
    let mut s = StateStore::new();
    s.apply(1, register(job("web"))).unwrap();
    let mut c = reg(changed(job("web"), 1));
    c.job.task_groups[0].count = 9;
    c.preserve_counts = true;
    s.apply(2, Command::JobRegister(c)).unwrap();
    assert_eq!(s.job("default", "web").unwrap().task_groups[0].count, 2);
}

#[test]
fn register_rejections_change_nothing() {
    let mut s = populated();
    let mut bad = job("");
    assert!(
        rejected(&mut s, 10, register(bad.clone()))
            .to_string()
            .contains("job ID is empty")
    );
    bad = job("x");
    bad.namespace = String::new();
    assert!(
        rejected(&mut s, 10, register(bad))
            .to_string()
            .contains("empty namespace")
    );
    bad = job("x");
    bad.job_type = "daemon".into();
    assert!(
        rejected(&mut s, 10, register(bad))
            .to_string()
            .contains("unknown type")
    );
    let mut c = reg(job("x"));
    c.eval = Some(eval("e9", "other"));
    assert!(matches!(
        rejected(&mut s, 10, Command::JobRegister(c.clone())),
        StateError::Invalid(_)
    ));
    c.eval = Some(Evaluation {
        status: "weird".into(),
        ..eval("e9", "x")
    });
    assert!(
        rejected(&mut s, 10, Command::JobRegister(c.clone()))
            .to_string()
            .contains("unknown status")
    );
    c.eval = Some(eval("", "x"));
    assert!(
        rejected(&mut s, 10, Command::JobRegister(c))
            .to_string()
            .contains("empty ID")
    );
    let err = rejected(&mut s, 4, register(job("x")));
    assert_eq!(
        err,
        StateError::StaleIndex {
            index: 4,
            latest: 4
        }
    );
}

#[test]
fn deregister_stops_as_a_new_version() {
    let mut s = StateStore::new();
    s.apply(1, register(job("web"))).unwrap();
    let c = JobDeregister {
        namespace: "default".into(),
        job_id: "web".into(),
        purge: false,
        eval: Some(Evaluation {
            triggered_by: "job-deregister".into(),
            ..eval("e1", "web")
        }),
        now: NOW,
    };
    let r = s.apply(2, Command::JobDeregister(c.clone())).unwrap();
    assert_eq!(
        (r.job_version, r.eval_id.as_str(), r.job_modify_index),
        (1, "e1", 2)
    );
    let j = s.job("default", "web").unwrap();
    assert!(j.stop);
    assert_eq!(
        j.status,
        job_status::PENDING,
        "a pending eval keeps it pending"
    );
    let mut done = eval("e1", "web");
    done.status = eval_status::COMPLETE.into();
    s.apply(3, Command::EvalUpsert(EvalUpsert { evals: vec![done] }))
        .unwrap();
    let j = s.job("default", "web").unwrap();
    assert_eq!((j.status.as_str(), j.modify_index), (job_status::DEAD, 3));
    // Stopping a stopped job adds no version.
    let again = JobDeregister { eval: None, ..c };
    s.apply(4, Command::JobDeregister(again)).unwrap();
    assert_eq!(s.job("default", "web").unwrap().version, 1);
}

#[test]
fn purge_removes_job_and_versions_but_not_allocs() {
    let mut s = populated();
    let c = JobDeregister {
        namespace: "default".into(),
        job_id: "web".into(),
        purge: true,
        eval: None,
        now: NOW,
    };
    s.apply(10, Command::JobDeregister(c.clone())).unwrap();
    assert!(s.job("default", "web").is_none());
    assert!(s.job_versions("default", "web").is_empty());
    assert_eq!(s.allocs_by_job("default", "web").len(), 2);
    let a = s.alloc("a1").unwrap();
    assert_eq!(
        a.job.unwrap().id,
        "web",
        "allocs keep their job spec after a purge"
    );
    let err = rejected(&mut s, 11, Command::JobDeregister(c));
    assert!(matches!(err, StateError::JobNotFound { .. }));
}

fn scale(job_id: &str, group: &str, count: i64) -> Command {
    Command::JobScale(JobScale {
        namespace: "default".into(),
        job_id: job_id.into(),
        group: group.into(),
        count,
        message: "more".into(),
        error: false,
        meta: Default::default(),
        eval: Some(Evaluation {
            triggered_by: "job-scaling".into(),
            ..eval("es", job_id)
        }),
        now: NOW + 5,
    })
}

#[test]
fn scale_changes_count_as_new_version() {
    let mut s = StateStore::new();
    s.apply(1, register(scaled_job("web", 1, 5))).unwrap();
    let r = s.apply(2, scale("web", "web", 4)).unwrap();
    assert_eq!((r.job_version, r.eval_id.as_str()), (1, "es"));
    let j = s.job("default", "web").unwrap();
    assert_eq!((j.task_groups[0].count, j.submit_time), (4, NOW + 5));
}

#[test]
fn scale_records_events_that_survive_snapshots_and_go_with_a_purge() {
    let mut s = StateStore::new();
    s.apply(1, register(scaled_job("web", 1, 5))).unwrap();
    s.apply(2, scale("web", "web", 4)).unwrap();
    let Command::JobScale(mut report) = scale("web", "web", 0) else {
        unreachable!()
    };
    report.error = true;
    report.eval = None;
    report.message = "source down".into();
    let r = s.apply(3, Command::JobScale(report)).unwrap();
    assert_eq!((r.eval_id.as_str(), r.job_version), ("", 1));
    let events = &s.scaling_events("default", "web").unwrap()["web"];
    assert_eq!(events.len(), 2);
    assert!(events[0].error && events[0].count.is_none());
    assert_eq!((events[1].count, events[1].previous_count), (Some(4), 2));
    assert_eq!(events[1].eval_id.as_deref(), Some("es"));
    assert_eq!(
        s.last_scaling_action("default", "web", "web"),
        Some(NOW + 5)
    );
    assert_eq!(s.index(table::SCALING_EVENT), 3);
    let restored = StateStore::restore(&s.snapshot().unwrap()).unwrap();
    assert_eq!(restored, s);
    s.apply(
        4,
        Command::JobDeregister(JobDeregister {
            namespace: "default".into(),
            job_id: "web".into(),
            purge: true,
            eval: None,
            now: NOW,
        }),
    )
    .unwrap();
    assert!(s.scaling_events("default", "web").is_none());
}

#[test]
fn scale_rejections_change_nothing() {
    let mut s = StateStore::new();
    s.apply(1, register(scaled_job("web", 1, 5))).unwrap();
    let mut sys = job("sys");
    sys.job_type = "system".into();
    sys.task_groups[0].count = 1;
    s.apply(2, register(sys)).unwrap();
    assert!(matches!(
        rejected(&mut s, 3, scale("nope", "web", 1)),
        StateError::JobNotFound { .. }
    ));
    assert!(
        rejected(&mut s, 3, scale("web", "db", 1))
            .to_string()
            .contains("task group \"db\" specified for scaling does not exist")
    );
    assert!(
        rejected(&mut s, 3, scale("web", "web", -1))
            .to_string()
            .contains("can't be negative")
    );
    assert!(
        rejected(&mut s, 3, scale("sys", "web", 2))
            .to_string()
            .contains("can only be scaled to 1 or 0")
    );
    assert_eq!(
        rejected(&mut s, 3, scale("web", "web", 0)).to_string(),
        "group count was less than scaling policy minimum: 0 < 1"
    );
    assert_eq!(
        rejected(&mut s, 3, scale("web", "web", 6)).to_string(),
        "group count was greater than scaling policy maximum: 6 > 5"
    );
    assert!(
        rejected(&mut s, 3, scale("web", "web", i64::MAX))
            .to_string()
            .contains("too large")
    );
    // Active deployment blocks scaling.
    let j = s.job("default", "web").unwrap().clone();
    let mut p = plan(vec![]);
    p.deployment = Some(deployment("d1", &j));
    s.apply(3, Command::ApplyPlanResults(p)).unwrap();
    assert!(
        rejected(&mut s, 4, scale("web", "web", 3))
            .to_string()
            .contains("blocked due to active deployment")
    );
    // Stopped job.
    let mut stopped = scaled_job("web", 1, 5);
    stopped.stop = true;
    s.apply(4, register(stopped)).unwrap();
    assert!(
        rejected(&mut s, 5, scale("web", "web", 3))
            .to_string()
            .contains("is stopped")
    );
}

#[test]
fn scale_without_policy_has_no_bounds() {
    let mut s = StateStore::new();
    let mut j = job("web");
    j.task_groups[0].scaling = Some(ScalingPolicy {
        min: None,
        max: None,
        ..ScalingPolicy::default()
    });
    s.apply(1, register(j)).unwrap();
    s.apply(2, scale("web", "web", 0)).unwrap();
    assert_eq!(s.job("default", "web").unwrap().task_groups[0].count, 0);
}

fn revert(version: u64, prior: Option<u64>) -> Command {
    Command::JobRevert(JobRevert {
        namespace: "default".into(),
        job_id: "web".into(),
        version,
        enforce_prior_version: prior,
        eval: Some(eval("er", "web")),
        now: NOW + 7,
    })
}

#[test]
fn revert_registers_old_spec_as_new_version() {
    let mut s = StateStore::new();
    s.apply(1, register(job("web"))).unwrap();
    s.apply(2, register(changed(job("web"), 1))).unwrap();
    let r = s.apply(3, revert(0, Some(1))).unwrap();
    assert_eq!(
        (r.job_version, r.job_modify_index, r.eval_id.as_str()),
        (2, 3, "er")
    );
    let j = s.job("default", "web").unwrap();
    assert!(!spec_changed(
        s.job_version("default", "web", 0).unwrap(),
        j
    ));
    assert_eq!(j.submit_time, NOW + 7);
}

#[test]
fn revert_rejections_change_nothing() {
    let mut s = StateStore::new();
    s.apply(1, register(job("web"))).unwrap();
    s.apply(2, register(changed(job("web"), 1))).unwrap();
    assert!(
        rejected(&mut s, 3, revert(1, None))
            .to_string()
            .contains("can't revert to current version")
    );
    assert!(matches!(
        rejected(&mut s, 3, revert(7, None)),
        StateError::JobVersionNotFound { version: 7, .. }
    ));
    assert_eq!(
        rejected(&mut s, 3, revert(0, Some(0))).to_string(),
        "Current job has version 1; enforcing version 0"
    );
    let mut missing = revert(0, None);
    if let Command::JobRevert(c) = &mut missing {
        c.job_id = "nope".into();
    }
    assert!(matches!(
        rejected(&mut s, 3, missing),
        StateError::JobNotFound { .. }
    ));
}

fn stability(job_id: &str, version: u64, stable: bool) -> Command {
    Command::JobStability(JobStability {
        namespace: "default".into(),
        job_id: job_id.into(),
        version,
        stable,
    })
}

#[test]
fn stability_marks_versions_without_bumping() {
    let mut s = StateStore::new();
    s.apply(1, register(job("web"))).unwrap();
    s.apply(2, register(changed(job("web"), 1))).unwrap();
    s.apply(3, stability("web", 1, true)).unwrap();
    let j = s.job("default", "web").unwrap();
    assert!(j.stable);
    assert_eq!((j.version, j.job_modify_index, j.modify_index), (1, 2, 3));
    assert!(s.job_version("default", "web", 1).unwrap().stable);
    s.apply(4, stability("web", 0, true)).unwrap();
    assert!(s.job_version("default", "web", 0).unwrap().stable);
    assert_eq!(s.job("default", "web").unwrap().modify_index, 3);
    assert!(matches!(
        rejected(&mut s, 5, stability("web", 9, true)),
        StateError::JobVersionNotFound { .. }
    ));
    assert!(matches!(
        rejected(&mut s, 5, stability("x", 0, true)),
        StateError::JobNotFound { .. }
    ));
}

#[test]
fn templates_and_system_jobs_run_until_stopped() {
    let mut s = StateStore::new();
    let mut p = job("cron");
    p.job_type = "batch".into();
    p.periodic = Some(Default::default());
    s.apply(1, register(p.clone())).unwrap();
    assert_eq!(
        s.job("default", "cron").unwrap().status,
        job_status::RUNNING
    );
    p.stop = true;
    s.apply(2, register(p)).unwrap();
    assert_eq!(s.job("default", "cron").unwrap().status, job_status::DEAD);
    let k: JobKey = ("default".into(), "cron".into());
    assert!(s.jobs.contains_key(&k));
}

#[test]
fn reregistering_a_purged_job_never_reuses_versions_its_old_allocs_hold() {
    let mut s = populated();
    let purge = JobDeregister {
        namespace: "default".into(),
        job_id: "web".into(),
        purge: true,
        eval: None,
        now: NOW,
    };
    s.apply(10, Command::JobDeregister(purge)).unwrap();
    let mut fresh = job("web");
    fresh.task_groups[0].count = 7;
    let r = s.apply(11, register(fresh)).unwrap();
    assert_eq!(
        r.job_version, 1,
        "version 0 is still the spec of allocs a1/a2"
    );
    let j = s.job("default", "web").unwrap();
    assert_eq!(
        (j.create_index, j.status.as_str()),
        (11, job_status::PENDING)
    );
    assert_eq!(s.alloc("a1").unwrap().job.unwrap().task_groups[0].count, 2);
}

#[test]
fn batched_commands_share_an_index_and_see_each_other() {
    let mut s = StateStore::new();
    s.apply(3, register(job("old"))).unwrap();
    // One Raft entry at index 4 carrying three commands.
    let mut with_eval = reg(job("web"));
    with_eval.eval = Some(eval("e1", "web"));
    let (first, keys) = s.apply_batched(4, Command::JobRegister(with_eval));
    assert_eq!(first.unwrap().index, 4);
    assert_eq!(keys.jobs, vec![("default".to_string(), "web".to_string())]);
    assert_eq!(keys.evals, vec!["e1".to_string()]);
    // The second sees the first: registering `web` again with the index it got works.
    let mut cas = reg(changed(job("web"), 1));
    cas.enforce_index = Some(4);
    let (second, _) = s.apply_batched(4, Command::JobRegister(cas));
    assert_eq!(second.unwrap().job_version, 1);
    // A refused command changes nothing and leaves the batch's index in place.
    let mut stale = reg(changed(job("web"), 2));
    stale.enforce_index = Some(3);
    let before = s.clone();
    let (third, keys) = s.apply_batched(4, Command::JobRegister(stale));
    assert!(matches!(third, Err(StateError::EnforceIndex { .. })));
    assert_eq!(keys, ChangedKeys::default());
    assert_eq!(s, before);
    assert_eq!(s.latest_index(), 4);
    // Below the latest index is stale, batched or not.
    let (late, _) = s.apply_batched(3, register(job("late")));
    assert!(matches!(late, Err(StateError::StaleIndex { .. })));
    assert!(matches!(
        s.apply(4, register(job("late"))),
        Err(StateError::StaleIndex { .. })
    ));
}
