use super::*;
use crate::server::LocalReplicator;
use orch_core::model::{Job, PeriodicConfig, Task, TaskGroup, job_type};
use orch_core::state::{Command, JobRegister};

fn parent() -> Job {
    let mut j = Job {
        id: "tick".into(),
        job_type: job_type::BATCH.into(),
        periodic: Some(PeriodicConfig {
            spec: "* * * * * * *".into(),
            ..PeriodicConfig::default()
        }),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            tasks: vec![Task {
                name: "t".into(),
                driver: "raw_exec".into(),
                ..Task::default()
            }],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    orch_core::canonical::canonicalize_job(&mut j);
    j
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_second_cron_launches_children_and_force_refuses_plain_jobs() {
    let state = StateHandle::default();
    let repl: Arc<dyn Replicator> = Arc::new(LocalReplicator::new(state.clone(), "x"));
    repl.propose(Command::JobRegister(JobRegister {
        job: parent(),
        eval: None,
        enforce_index: None,
        preserve_counts: false,
        now: now_nanos(),
    }))
    .await
    .unwrap();
    tokio::spawn(run(state.clone(), Arc::clone(&repl)));
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let children = state.read().child_jobs("default", "tick").len();
    assert!((2..=3).contains(&children), "{children} children in 2.6 s");
    let r = launch(
        &state,
        repl.as_ref(),
        "default",
        "tick",
        now_nanos() + 60_000_000_000,
    )
    .await
    .unwrap();
    assert!(!r.eval_id.is_empty());
    let mut plain = parent();
    plain.id = "plain".into();
    plain.periodic = None;
    repl.propose(Command::JobRegister(JobRegister {
        job: plain,
        eval: None,
        enforce_index: None,
        preserve_counts: false,
        now: now_nanos(),
    }))
    .await
    .unwrap();
    let err = launch(&state, repl.as_ref(), "default", "plain", now_nanos()).await;
    assert!(matches!(err, Err(LaunchError::NotPeriodic(_))));
}
