use super::*;
use crate::model::{Evaluation, Job, eval_status, job_type};
use crate::state::testutil::{NOW, eval, job, register};
use crate::state::{Command, JobDeregister, JobRegister};

const S: i64 = 1_000_000_000;

fn parent(id: &str, spec: &str, overlap: bool) -> Job {
    let mut j = job(id);
    j.job_type = job_type::BATCH.into();
    j.periodic = Some(PeriodicConfig {
        spec: spec.into(),
        prohibit_overlap: overlap,
        ..PeriodicConfig::default()
    });
    j
}

fn launch(s: &mut StateStore, index: u64, parent: &Job, at: i64, eval_id: &str) {
    let child = derive_child(parent, at);
    let mut e: Evaluation = eval(eval_id, &child.id);
    e.eval_type = job_type::BATCH.into();
    s.apply(
        index,
        Command::JobRegister(JobRegister {
            job: child,
            eval: Some(e),
            enforce_index: None,
            preserve_counts: false,
            now: at,
        }),
    )
    .unwrap();
}

#[test]
fn schedules_take_the_earliest_spec_and_refuse_other_time_zones() {
    let mut p = PeriodicConfig {
        specs: vec!["0 * * * *".into(), "*/20 * * * *".into()],
        ..PeriodicConfig::default()
    };
    let s = Schedule::new(&p).unwrap();
    // 12:05:00.5 UTC -> 12:20.
    let t = 1_710_072_300 * S + S / 2;
    assert_eq!(s.next_after(t), Some((1_710_072_300 + 15 * 60) * S));
    p.time_zone = "Mars/Olympus_Mons".into();
    let err = Schedule::new(&p).unwrap_err();
    assert!(err.to_string().contains("Mars/Olympus_Mons") && err.to_string().contains("IANA"));
    p.time_zone = "Etc/UTC".into();
    p.specs.push("nope".into());
    let err = Schedule::new(&p).unwrap_err();
    assert!(
        matches!(&err, PeriodicError::Spec { field, .. } if field == "Specs[2]"),
        "{err}"
    );
}

#[test]
fn crons_are_read_in_their_time_zone_across_dst() {
    let p = PeriodicConfig {
        spec: "30 9 * * *".into(),
        time_zone: "America/New_York".into(),
        ..PeriodicConfig::default()
    };
    let s = Schedule::new(&p).unwrap();
    // 2024-03-09 00:00 UTC: the next 09:30 New York is 14:30 UTC (EST, UTC-5).
    let t = 1_709_942_400;
    assert_eq!(s.next_after(t * S), Some((t + 14 * 3600 + 1800) * S));
    // After the DST switch on 2024-03-10, 09:30 EDT is 13:30 UTC.
    let next = s.next_after((t + 15 * 3600) * S).unwrap() / S;
    assert_eq!(next, t + 86_400 + 13 * 3600 + 1800);
    // 02:30 does not exist on 2024-03-10 in New York: that day is skipped.
    let gap = PeriodicConfig {
        spec: "30 2 * * *".into(),
        time_zone: "America/New_York".into(),
        ..PeriodicConfig::default()
    };
    let g = Schedule::new(&gap).unwrap();
    let sat = 1_709_942_400 + 8 * 3600; // 2024-03-09 08:00 UTC, after Saturday's 02:30 EST
    let fired = g.next_after(sat * S).unwrap() / S;
    // Sunday 02:30 is skipped; Monday 02:30 EDT is 06:30 UTC.
    assert_eq!(fired, 1_709_942_400 + 2 * 86_400 + 6 * 3600 + 1800);
    // 01:30 happens twice on 2024-11-03: it fires once, at the first (EDT, 05:30 UTC).
    let twice = PeriodicConfig {
        spec: "30 1 * * *".into(),
        time_zone: "America/New_York".into(),
        ..PeriodicConfig::default()
    };
    let w = Schedule::new(&twice).unwrap();
    let nov3 = 1_730_592_000; // 2024-11-03 00:00 UTC
    let first = w.next_after(nov3 * S).unwrap() / S;
    assert_eq!(first, nov3 + 5 * 3600 + 1800);
    let second = w.next_after(first * S).unwrap() / S;
    assert_eq!(
        second,
        nov3 + 86_400 + 6 * 3600 + 1800,
        "not again at 01:30 EST"
    );
}

#[test]
fn children_are_derived_and_their_launch_time_read_back() {
    let mut p = parent("report", "* * * * *", false);
    p.version = 4;
    p.status = "running".into();
    let c = derive_child(&p, 1_700_000_123 * S + 5);
    assert_eq!(c.id, "report/periodic-1700000123");
    assert_eq!(
        (c.parent_id.as_str(), c.name.as_str()),
        ("report", c.id.as_str())
    );
    assert!(c.periodic.is_none() && !c.is_template());
    assert_eq!((c.version, c.status.as_str()), (0, ""));
    assert_eq!(launch_time(&c.id), Some(1_700_000_123 * S));
    assert_eq!(launch_time("report"), None);
    assert_eq!(launch_time("report/periodic-x"), None);
}

#[test]
fn launches_are_recorded_in_the_state_and_survive_snapshots() {
    let mut s = StateStore::new();
    let p = parent("cron", "* * * * * * *", false);
    s.apply(1, register(p.clone())).unwrap();
    let l = s.periodic_launch("default", "cron").unwrap();
    assert_eq!(
        (l.launch, l.create_index),
        (NOW, 1),
        "registration counts as a launch"
    );
    assert!(s.evals().next().is_none() && s.job("default", "cron").unwrap().status == "running");
    // A child's registration moves the parent's record forward, never back.
    launch(&mut s, 2, &p, NOW + 5 * S, "e1");
    let l = s.periodic_launch("default", "cron").unwrap();
    assert_eq!((l.launch, l.modify_index), (NOW + 5 * S, 2));
    launch(&mut s, 3, &p, NOW + 2 * S, "e2");
    assert_eq!(
        s.periodic_launch("default", "cron").unwrap().launch,
        NOW + 5 * S
    );
    assert_eq!(s.child_jobs("default", "cron").len(), 2);
    assert_eq!(s.index(crate::state::table::PERIODIC_LAUNCH), 2);
    // Snapshots keep the records.
    let bytes = s.snapshot().unwrap();
    let r = StateStore::restore(&bytes).unwrap();
    assert_eq!(r, s);
    assert_eq!(r.snapshot().unwrap(), bytes);
    // Re-registering the parent keeps its record; purging removes it.
    s.apply(4, register(p)).unwrap();
    assert_eq!(
        s.periodic_launch("default", "cron").unwrap().launch,
        NOW + 5 * S
    );
    let purge = JobDeregister {
        namespace: "default".into(),
        job_id: "cron".into(),
        purge: true,
        eval: None,
        now: NOW,
    };
    s.apply(5, Command::JobDeregister(purge)).unwrap();
    assert!(s.periodic_launch("default", "cron").is_none());
}

#[test]
fn due_launches_follow_the_schedule_and_make_up_one_missed_launch() {
    let mut s = StateStore::new();
    let p = parent("cron", "*/10 * * * * * *", false);
    s.apply(1, register(p.clone())).unwrap(); // NOW ends in 00 seconds.
    let none = BTreeMap::new();
    let plan = due_launches(&s, NOW + S, &none);
    assert_eq!((plan.due.len(), plan.next), (0, Some(NOW + 10 * S)));
    let plan = due_launches(&s, NOW + 10 * S + 200_000_000, &none);
    assert_eq!(plan.due.len(), 1);
    assert_eq!((plan.due[0].at, plan.due[0].missed), (NOW + 10 * S, false));
    launch(&mut s, 2, &p, NOW + 10 * S, "e1");
    assert!(
        due_launches(&s, NOW + 11 * S, &none).due.is_empty(),
        "no double launch"
    );
    // A leader that comes back an hour later launches once, now, and goes on from there.
    let later = NOW + 3600 * S + S / 3;
    let plan = due_launches(&s, later, &none);
    assert_eq!(plan.due.len(), 1);
    assert_eq!((plan.due[0].at, plan.due[0].missed), (later, true));
    launch(&mut s, 3, &p, later, "e2");
    let plan = due_launches(&s, later + S / 2, &none);
    assert!(plan.due.is_empty());
    assert_eq!(plan.next, Some(NOW + 3610 * S));
}

#[test]
fn inactive_parents_never_launch_and_are_never_scheduled() {
    let mut s = StateStore::new();
    let mut disabled = parent("off", "* * * * * * *", false);
    disabled.periodic.as_mut().unwrap().enabled = false;
    let mut stopped = parent("stopped", "* * * * * * *", false);
    stopped.stop = true;
    let mut param = parent("param", "* * * * * * *", false);
    param.parameterized_job = Some(Default::default());
    for (i, j) in [disabled, stopped, param].into_iter().enumerate() {
        assert!(j.is_template());
        s.apply(i as u64 + 1, register(j)).unwrap();
    }
    assert!(
        due_launches(&s, NOW + 60 * S, &BTreeMap::new())
            .due
            .is_empty()
    );
    // An evaluation of a template (node update, forced) places nothing.
    let mut e = eval("ev", "off");
    e.eval_type = job_type::BATCH.into();
    let mut n = crate::state::testutil::node("n1");
    n.node_resources.cpu.cpu_shares = 4000;
    n.node_resources.memory.memory_mb = 4096;
    s.apply(4, crate::state::testutil::register_node(n))
        .unwrap();
    let mut ids = || "id".to_string();
    let out = crate::scheduler::process_eval(&s, &e, &Default::default(), 1, NOW, &mut ids);
    assert!(out.plan.is_no_op(), "{:?}", out.plan);
}

#[test]
fn prohibit_overlap_reports_running_children() {
    let mut s = StateStore::new();
    let p = parent("cron", "*/10 * * * * * *", true);
    s.apply(1, register(p.clone())).unwrap();
    launch(&mut s, 2, &p, NOW + 10 * S, "e1");
    assert!(has_running_children(&s, "default", "cron"), "pending eval");
    let plan = due_launches(&s, NOW + 20 * S, &BTreeMap::new());
    assert!(plan.due[0].overlapping);
    // The skipped launch is not tried again.
    let skipped = BTreeMap::from([(p.key(), NOW + 20 * S)]);
    assert!(due_launches(&s, NOW + 21 * S, &skipped).due.is_empty());
    let mut done = s.eval("e1").unwrap().clone();
    done.status = eval_status::COMPLETE.into();
    s.apply(
        3,
        Command::EvalUpsert(crate::state::EvalUpsert { evals: vec![done] }),
    )
    .unwrap();
    assert!(!has_running_children(&s, "default", "cron"));
    assert_eq!(children_summary(&s, "default", "cron"), (0, 0, 1));
}

#[test]
fn next_launch_is_shown_in_the_job_time_zone_and_absent_when_disabled() {
    // 2024-03-09 00:00 UTC.
    let t = 1_709_942_400;
    let utc = PeriodicConfig {
        spec: "0 0 L * *".into(),
        ..PeriodicConfig::default()
    };
    let next = next_launch(&utc, t * S + 123).unwrap();
    assert_eq!(next.at, (t + 22 * 86_400) * S, "March 31st");
    assert_eq!(next.utc_offset, 0);
    assert_eq!(next.rfc3339(), "2024-03-31T00:00:00Z");
    // New York: 09:30 EST on the 9th is 14:30 UTC; after the switch, EDT (-04:00).
    let ny = PeriodicConfig {
        spec: "30 9 * * *".into(),
        time_zone: "America/New_York".into(),
        ..PeriodicConfig::default()
    };
    let next = next_launch(&ny, t * S).unwrap();
    assert_eq!(next.at, (t + 14 * 3600 + 1800) * S);
    assert_eq!(next.rfc3339(), "2024-03-09T09:30:00-05:00");
    let next = next_launch(&ny, next.at).unwrap();
    assert_eq!(next.utc_offset, -4 * 3600);
    assert_eq!(next.rfc3339(), "2024-03-10T09:30:00-04:00");
    // Disabled, never again, or unparsable: no next launch.
    let off = PeriodicConfig {
        enabled: false,
        ..utc.clone()
    };
    assert_eq!(next_launch(&off, t * S), None);
    let past = PeriodicConfig {
        spec: "0 0 1 1 * 2020".into(),
        ..utc.clone()
    };
    assert_eq!(next_launch(&past, t * S), None);
    let bad = PeriodicConfig {
        spec: "nope".into(),
        ..utc
    };
    assert_eq!(next_launch(&bad, t * S), None);
}
