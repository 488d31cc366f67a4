use super::*;
use crate::model::{Job, deployment_status};
use crate::state::testutil::*;
use crate::state::{Command, DeploymentStatusUpdate};
use crate::workflow::release::{Step, decide};

fn versioned(id: &str, v: u32) -> Job {
    let mut j = job(id);
    j.meta.insert("v".into(), v.to_string());
    j
}

fn run(rid: &str, jobs: &[Job]) -> Command {
    let registers = jobs
        .iter()
        .map(|j| {
            let Command::JobRegister(register) = register(j.clone()) else {
                unreachable!("testutil::register builds a JobRegister")
            };
            JobRegisterGated {
                register,
                submission: None,
                gates: Default::default(),
            }
        })
        .collect();
    Command::ReleaseRun(ReleaseRun {
        id: rid.into(),
        name: "shop".into(),
        registers,
        now: NOW,
    })
}

fn set_deployment(s: &mut StateStore, index: u64, id: &str, job_id: &str, status: &str) {
    let j = s.job("default", job_id).unwrap().clone();
    let mut p = plan(vec![]);
    p.deployment = Some(deployment(id, &j));
    s.apply(index, Command::ApplyPlanResults(p)).unwrap();
    s.apply(
        index + 1,
        Command::DeploymentStatusUpdate(DeploymentStatusUpdate {
            deployment_id: id.into(),
            status: status.into(),
            status_description: format!("deployment {status}"),
            eval: None,
            now: NOW,
        }),
    )
    .unwrap();
}

fn statuses(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Status { status, .. } => Some(status.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_release_registers_all_its_jobs_or_none() {
    let mut s = StateStore::new();
    let mut bad = versioned("b", 0);
    bad.namespace = "missing".into();
    rejected(&mut s, 2, run("r0", &[versioned("a", 0), bad]));
    assert!(
        s.job("default", "a").is_none(),
        "nothing of a refused release is kept"
    );
    s.apply(3, run("r1", &[versioned("a", 0), versioned("b", 0)]))
        .unwrap();
    let r = s.release("r1").unwrap();
    assert_eq!(
        (r.version, r.jobs.len(), r.status.as_str()),
        (1, 2, "running")
    );
    assert!(s.job("default", "b").is_some());
    // A second release of the name waits for the first.
    assert!(matches!(
        rejected(&mut s, 4, run("r2", &[versioned("a", 1)])),
        StateError::Conflict(_)
    ));
    let twice = run("r3", &[versioned("a", 1), versioned("a", 2)]);
    assert!(matches!(rejected(&mut s, 4, twice), StateError::Invalid(_)));
}

#[test]
fn a_failed_job_fails_the_release_and_every_job_goes_back_to_the_last_successful_one() {
    let mut s = StateStore::new();
    s.apply(2, run("r1", &[versioned("a", 0), versioned("b", 0)]))
        .unwrap();
    set_deployment(&mut s, 3, "da0", "a", deployment_status::SUCCESSFUL);
    set_deployment(&mut s, 5, "db0", "b", deployment_status::SUCCESSFUL);
    assert_eq!(statuses(&decide(&s)), ["successful"]);
    let done = Command::ReleaseStatusUpdate(ReleaseStatusUpdate {
        id: "r1".into(),
        status: "successful".into(),
        status_description: "ok".into(),
        now: NOW,
    });
    s.apply(7, done).unwrap();
    assert!(decide(&s).is_empty());

    s.apply(
        8,
        run(
            "r2",
            &[versioned("a", 1), versioned("b", 1), versioned("c", 0)],
        ),
    )
    .unwrap();
    assert_eq!(s.release("r2").unwrap().rollback_to, 1);
    assert!(decide(&s).is_empty(), "rolling out");
    set_deployment(&mut s, 9, "db1", "b", deployment_status::FAILED);
    let steps = decide(&s);
    let Some(Step::Status {
        status,
        description,
        ..
    }) = steps.first()
    else {
        panic!("{steps:?}")
    };
    assert_eq!(status, "failed");
    assert!(description.contains("job \"b\"") && description.contains("release version 1"));
    s.apply(
        11,
        Command::ReleaseStatusUpdate(ReleaseStatusUpdate {
            id: "r2".into(),
            status: "failed".into(),
            status_description: description.clone(),
            now: NOW,
        }),
    )
    .unwrap();
    let steps = decide(&s);
    assert_eq!(
        steps,
        vec![
            Step::Revert {
                namespace: "default".into(),
                job_id: "a".into(),
                version: 0,
                prior_version: 1
            },
            Step::Revert {
                namespace: "default".into(),
                job_id: "b".into(),
                version: 0,
                prior_version: 1
            },
            Step::Stop {
                namespace: "default".into(),
                job_id: "c".into()
            },
        ]
    );
    let bytes = s.snapshot().unwrap();
    let back = StateStore::restore(&bytes).unwrap();
    assert_eq!(back.release("r2"), s.release("r2"));
    assert_eq!(back.snapshot().unwrap(), bytes);
}

/// Applies what the release watcher decides until it has nothing left to do.
fn settle(s: &mut StateStore, index: &mut u64) {
    for _ in 0..10 {
        let steps = decide(s);
        if steps.is_empty() {
            return;
        }
        for step in steps {
            *index += 1;
            let cmd = match step {
                Step::Status {
                    id,
                    status,
                    description,
                } => Command::ReleaseStatusUpdate(ReleaseStatusUpdate {
                    id,
                    status,
                    status_description: description,
                    now: NOW,
                }),
                Step::Revert {
                    namespace,
                    job_id,
                    version,
                    prior_version,
                } => Command::JobRevert(crate::state::JobRevert {
                    namespace,
                    job_id,
                    version,
                    enforce_prior_version: Some(prior_version),
                    eval: None,
                    now: NOW,
                }),
                Step::Stop { namespace, job_id } => {
                    Command::JobDeregister(crate::state::JobDeregister {
                        namespace,
                        job_id,
                        purge: false,
                        eval: None,
                        now: NOW,
                    })
                }
            };
            s.apply(*index, cmd).unwrap();
        }
    }
    panic!("the release watcher never settled: {:?}", decide(s));
}

proptest::proptest! {
    /// Whatever succeeds or fails in a run of releases, once the watcher settles every
    /// job runs its spec of the name's last successful release, and nothing is left
    /// to revert (a rollback is never repeated).
    #[test]
    fn after_any_run_of_releases_the_jobs_hold_the_last_successful_release(
        // Up to 3 releases: at most 6 versions per job (a registration and a revert
        // each), all still in the history (`JOB_TRACKED_VERSIONS`).
        outcomes in proptest::collection::vec(proptest::collection::vec(proptest::bool::ANY, 2), 1..4),
    ) {
        let mut s = StateStore::new();
        let mut index = 1;
        let mut last_ok: Option<usize> = None;
        for (i, ok) in outcomes.iter().enumerate() {
            index += 1;
            let jobs = [versioned("a", i as u32), versioned("b", i as u32)];
            s.apply(index, run(&format!("r{i}"), &jobs)).unwrap();
            for (j, id) in ["a", "b"].iter().enumerate() {
                let status = if ok[j] { deployment_status::SUCCESSFUL } else { deployment_status::FAILED };
                index += 2;
                set_deployment(&mut s, index - 1, &format!("d{i}{id}"), id, status);
            }
            settle(&mut s, &mut index);
            if ok.iter().all(|x| *x) {
                last_ok = Some(i);
            }
            let want = last_ok.unwrap_or(i);
            for id in ["a", "b"] {
                let job = s.job("default", id).unwrap();
                proptest::prop_assert_eq!(job.meta.get("v").cloned(), Some(want.to_string()), "job {}", id);
            }
            proptest::prop_assert!(decide(&s).is_empty());
        }
    }
}

#[test]
fn a_version_gone_from_the_history_is_not_reverted_and_the_description_says_so() {
    let mut s = StateStore::new();
    let mut index = 1;
    index += 1;
    s.apply(index, run("r0", &[versioned("a", 0)])).unwrap();
    index += 2;
    set_deployment(&mut s, index - 1, "d0", "a", deployment_status::SUCCESSFUL);
    settle(&mut s, &mut index);
    // More versions of a outside any release, a newer stable one among them, push
    // version 0 out of the history.
    for v in 1..=8 {
        index += 1;
        s.apply(index, register(versioned("a", v))).unwrap();
    }
    index += 1;
    let stable = crate::state::JobStability {
        namespace: "default".into(),
        job_id: "a".into(),
        version: 8,
        stable: true,
    };
    s.apply(index, Command::JobStability(stable)).unwrap();
    index += 1;
    s.apply(index, register(versioned("a", 9))).unwrap();
    assert!(s.job_version("default", "a", 0).is_none());
    index += 1;
    // r0's job was registered again outside it, so that release is done with; the
    // next one starts from it.
    s.apply(index, run("r1", &[versioned("a", 10)])).unwrap();
    index += 2;
    set_deployment(&mut s, index - 1, "d1", "a", deployment_status::FAILED);
    settle(&mut s, &mut index);
    let r = s.release("r1").unwrap();
    assert_eq!(r.status, "failed");
    assert!(
        r.status_description.contains("no longer in its history"),
        "{}",
        r.status_description
    );
    assert_eq!(s.job("default", "a").unwrap().meta["v"], "10", "a stays");
}
