//! The loop's decisions with the applier's verdicts made up: a refused plan is
//! planned again, progress restarts the count, and running out fails the evaluation
//! with a `max-plan-attempts` blocked one instead of dropping the placements.

use super::*;
use crate::model::{Job, Task, TaskGroup};
use crate::sim::Cluster;

fn cluster_with_pending_job() -> (Cluster, Evaluation) {
    let mut c = Cluster::new(3);
    c.add_node(crate::state::testutil::schedulable_node(1))
        .unwrap();
    let mut t = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    t.resources.cpu = 100;
    t.resources.memory_mb = 64;
    let job = Job {
        id: "web".into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count: 2,
            tasks: vec![t],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    let id = c.submit_job(job).unwrap();
    let eval = c.state.eval(&id).unwrap().clone();
    (c, eval)
}

fn ids() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("id-{n}")
    }
}

const REFUSED: PlanVerdict = PlanVerdict {
    committed_whole: false,
    made_progress: false,
};

#[test]
fn refused_plans_run_out_into_a_failed_eval_and_a_max_plan_attempts_blocked_one() {
    let (c, eval) = cluster_with_pending_job();
    let mut run = EvalRun::new(&eval);
    let mut next = ids();
    for _ in 0..MAX_PLAN_ATTEMPTS {
        assert!(!run.is_over());
        let plan = run.schedule(&c.state, &c.config, 1, 0, &mut next);
        assert!(plan.is_some_and(|p| p.placed() == 2));
        run.plan_applied(REFUSED);
    }
    assert!(run.is_over());
    assert!(run.schedule(&c.state, &c.config, 1, 0, &mut next).is_none());
    let Some(Command::EvalUpsert(up)) = run.finish(|| "blocked-1".into(), 9) else {
        panic!("an evaluation update")
    };
    assert_eq!(up.evals.len(), 2);
    let (failed, blocked) = (&up.evals[0], &up.evals[1]);
    assert_eq!(failed.id, eval.id);
    assert_eq!(failed.status, eval_status::FAILED);
    assert_eq!(failed.status_description, "maximum attempts reached (5)");
    assert_eq!(failed.blocked_eval, "blocked-1");
    assert_eq!(blocked.status, eval_status::BLOCKED);
    assert_eq!(blocked.triggered_by, trigger::MAX_PLAN_ATTEMPTS);
    assert_eq!(blocked.previous_eval, eval.id);
}

#[test]
fn a_plan_that_commits_something_starts_the_count_again() {
    let (c, eval) = cluster_with_pending_job();
    let mut run = EvalRun::new(&eval);
    let mut next = ids();
    let progress = PlanVerdict {
        committed_whole: false,
        made_progress: true,
    };
    for _ in 0..3 * MAX_PLAN_ATTEMPTS {
        assert!(run.schedule(&c.state, &c.config, 1, 0, &mut next).is_some());
        run.plan_applied(progress);
    }
    assert!(!run.is_over(), "progress keeps the loop going");
    let whole = PlanVerdict {
        committed_whole: true,
        made_progress: true,
    };
    assert!(run.schedule(&c.state, &c.config, 1, 0, &mut next).is_some());
    run.plan_applied(whole);
    assert!(run.is_over());
    let Some(Command::EvalUpsert(up)) = run.finish(|| "unused".into(), 9) else {
        panic!("an evaluation update")
    };
    assert_eq!(up.evals[0].status, eval_status::COMPLETE);
    assert_eq!(up.evals.len(), 1, "nothing left to place");
}

#[test]
fn progress_is_bounded() {
    let (c, eval) = cluster_with_pending_job();
    let mut run = EvalRun::new(&eval);
    let mut next = ids();
    let mut n = 0;
    while run.schedule(&c.state, &c.config, 1, 0, &mut next).is_some() {
        run.plan_applied(PlanVerdict {
            committed_whole: false,
            made_progress: true,
        });
        n += 1;
    }
    assert_eq!(n, MAX_TOTAL_PLAN_ATTEMPTS);
}

#[test]
fn a_verdict_reads_the_applied_result() {
    let whole = PlanResult::default();
    assert_eq!(
        PlanVerdict::of(&whole),
        PlanVerdict {
            committed_whole: true,
            made_progress: false
        }
    );
    let mut refused = PlanResult::default();
    refused.rejected_nodes.insert("n".into(), "full".into());
    assert_eq!(PlanVerdict::of(&refused), REFUSED);
}
