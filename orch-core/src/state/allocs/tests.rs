use crate::model::{
    DesiredTransition, TaskState, client_status, desired_status, eval_status, job_status,
};
use crate::state::testutil::*;
use crate::state::*;

fn apply_plan(s: &mut StateStore, index: u64, p: ApplyPlanResults) -> Response {
    s.apply(index, Command::ApplyPlanResults(p)).unwrap()
}

fn client(s: &mut StateStore, index: u64, updates: Vec<AllocClientState>) {
    let c = AllocClientUpdate {
        allocs: updates,
        evals: vec![],
        now: NOW + 9,
    };
    s.apply(index, Command::AllocClientUpdate(c)).unwrap();
}

#[test]
fn plan_places_allocs_normalized_with_indexes() {
    let s = populated();
    let a = s.alloc_stub("a1").unwrap();
    assert!(a.job.is_none(), "stored without the job");
    assert_eq!(
        (a.create_index, a.modify_index, a.alloc_modify_index),
        (4, 4, 4)
    );
    assert_eq!((a.create_time, a.modify_time), (NOW, NOW));
    assert_eq!(
        (a.desired_status.as_str(), a.client_status.as_str()),
        ("run", "pending")
    );
    assert_eq!(a.node_name, "host-n1");
    let full = s.alloc("a1").unwrap();
    assert_eq!(full.job.as_ref().unwrap().version, 0);
    assert_eq!(s.allocs_by_node("n1").len(), 1);
    assert_eq!(s.allocs_by_job("default", "web").len(), 2);
    assert_eq!(s.allocs_by_eval("e1").len(), 2);
    assert_eq!(s.index(table::ALLOCS), 4);
    assert_eq!(s.job("default", "web").unwrap().status, job_status::RUNNING);
}

#[test]
fn alloc_jobs_outlive_version_pruning() {
    let mut s = populated();
    for n in 0..8u64 {
        let mut j = job("web");
        j.meta.insert("n".into(), n.to_string());
        s.apply(10 + n, register(j)).unwrap();
    }
    assert!(s.job_version("default", "web", 0).is_none());
    assert_eq!(s.alloc("a1").unwrap().job.unwrap().version, 0);
    // Once no allocation uses the spec, it goes.
    let gc = EvalDelete {
        eval_ids: vec![],
        alloc_ids: vec!["a1".into(), "a2".into()],
    };
    s.apply(20, Command::EvalDelete(gc)).unwrap();
    assert!(s.alloc_jobs.is_empty());
}

#[test]
fn in_place_update_keeps_client_fields_and_create_index() {
    let mut s = populated();
    let mut running = client_update("a1", client_status::RUNNING);
    running.task_states.insert(
        "server".into(),
        TaskState {
            state: "running".into(),
            ..Default::default()
        },
    );
    client(&mut s, 5, vec![running]);
    let mut upd = alloc("a1", "web", "n1", 0);
    upd.job = Some(Box::new(s.job("default", "web").unwrap().clone()));
    let mut p = plan(vec![upd]);
    p.now = NOW + 50;
    apply_plan(&mut s, 6, p);
    let a = s.alloc_stub("a1").unwrap();
    assert_eq!(
        (a.create_index, a.modify_index, a.alloc_modify_index),
        (4, 6, 6)
    );
    assert_eq!((a.create_time, a.modify_time), (NOW, NOW + 50));
    assert_eq!(a.client_status, client_status::RUNNING);
    assert_eq!(a.task_states.len(), 1);
}

#[test]
fn plan_stops_and_preempts() {
    let mut s = populated();
    let mut p = plan(vec![]);
    p.allocs_stopped.push(AllocStop {
        alloc_id: "a1".into(),
        desired_description: "alloc not needed".into(),
        client_status: Some(client_status::LOST.into()),
    });
    p.allocs_preempted.push(AllocPreemption {
        alloc_id: "a2".into(),
        preempted_by: "a9".into(),
    });
    p.evals.push(eval("e2", "web"));
    p.eval_id = "e1".into();
    apply_plan(&mut s, 5, p);
    let a1 = s.alloc_stub("a1").unwrap();
    assert_eq!(
        (a1.desired_status.as_str(), a1.client_status.as_str()),
        (desired_status::STOP, "lost")
    );
    assert_eq!(a1.alloc_modify_index, 5);
    let a2 = s.alloc_stub("a2").unwrap();
    assert_eq!(a2.desired_status, desired_status::EVICT);
    assert_eq!(a2.desired_description, "Preempted by alloc ID a9");
    assert_eq!(a2.preempted_by_allocation, "a9");
    assert_eq!(s.eval("e1").unwrap().modify_index, 5);
    assert!(s.eval("e2").is_some());
    // All allocs terminal, but evals pending.
    assert_eq!(s.job("default", "web").unwrap().status, job_status::PENDING);
}

#[test]
fn plan_rejections_change_nothing() {
    let mut s = populated();
    let cases: Vec<(ApplyPlanResults, &str)> = vec![
        (
            plan(vec![alloc("a9", "web", "zz", 0)]),
            "node \"zz\" not found",
        ),
        (
            plan(vec![alloc("a9", "nope", "n1", 0)]),
            "job \"nope\" not found",
        ),
        (
            plan(vec![{
                let mut a = alloc("a9", "web", "n1", 0);
                a.job_version = 3;
                a
            }]),
            "at version 3 not found",
        ),
        (
            plan(vec![{
                let mut a = alloc("a9", "web", "n1", 0);
                a.task_group = "db".into();
                a
            }]),
            "task group \"db\"",
        ),
        (
            plan(vec![{
                let mut a = alloc("a9", "web", "n1", 0);
                a.client_status = "meh".into();
                a
            }]),
            "unknown client status",
        ),
        (
            plan(vec![{
                let mut a = alloc("a9", "web", "n1", 0);
                a.desired_status = "meh".into();
                a
            }]),
            "unknown desired status",
        ),
        (
            plan(vec![
                alloc("a9", "web", "n1", 0),
                alloc("a9", "web", "n1", 1),
            ]),
            "more than once",
        ),
        (plan(vec![alloc("", "web", "n1", 0)]), "empty ID"),
        (
            ApplyPlanResults {
                allocs_stopped: vec![AllocStop {
                    alloc_id: "zz".into(),
                    desired_description: String::new(),
                    client_status: None,
                }],
                ..plan(vec![alloc("a9", "web", "n1", 0)])
            },
            "allocation \"zz\" not found",
        ),
        (
            ApplyPlanResults {
                allocs_stopped: vec![AllocStop {
                    alloc_id: "a1".into(),
                    desired_description: String::new(),
                    client_status: Some("x".into()),
                }],
                ..plan(vec![])
            },
            "unknown client status",
        ),
        (
            ApplyPlanResults {
                allocs_preempted: vec![AllocPreemption {
                    alloc_id: "zz".into(),
                    preempted_by: "a1".into(),
                }],
                ..plan(vec![])
            },
            "allocation \"zz\" not found",
        ),
        (
            ApplyPlanResults {
                eval_id: "zz".into(),
                ..plan(vec![])
            },
            "evaluation \"zz\" not found",
        ),
        (
            ApplyPlanResults {
                deployment_updates: vec![DeploymentUpdate {
                    deployment_id: "zz".into(),
                    status: "failed".into(),
                    status_description: String::new(),
                }],
                ..plan(vec![])
            },
            "deployment \"zz\" not found",
        ),
        (
            ApplyPlanResults {
                deployment: Some({
                    let mut d = deployment("d1", &job("web"));
                    d.status = "weird".into();
                    d
                }),
                ..plan(vec![])
            },
            "unknown status",
        ),
        (
            ApplyPlanResults {
                deployment: Some(deployment("d1", &job("nope"))),
                ..plan(vec![])
            },
            "job \"nope\" not found",
        ),
        (
            ApplyPlanResults {
                deployment: Some(deployment("", &job("web"))),
                ..plan(vec![])
            },
            "empty ID",
        ),
        (
            ApplyPlanResults {
                evals: vec![eval("e5", "web"), eval("e5", "web")],
                ..plan(vec![])
            },
            "more than once",
        ),
    ];
    for (p, want) in cases {
        let err = rejected(&mut s, 10, Command::ApplyPlanResults(p));
        assert!(
            err.to_string().contains(want),
            "{err} should contain {want}"
        );
    }
}

#[test]
fn client_update_touches_only_client_fields() {
    let mut s = populated();
    let mut u = client_update("a1", client_status::RUNNING);
    u.client_description = "Tasks are running".into();
    client(&mut s, 5, vec![u]);
    let a = s.alloc_stub("a1").unwrap();
    assert_eq!(
        (a.modify_index, a.alloc_modify_index, a.modify_time),
        (5, 4, NOW + 9)
    );
    assert_eq!(a.client_description, "Tasks are running");
    assert_eq!(a.desired_status, desired_status::RUN);
    client(
        &mut s,
        6,
        vec![
            client_update("a1", "complete"),
            client_update("a2", "failed"),
        ],
    );
    assert_eq!(
        s.job("default", "web").unwrap().status,
        job_status::PENDING,
        "eval e1 still pending"
    );
    let mut done = eval("e1", "web");
    done.status = eval_status::COMPLETE.into();
    s.apply(7, Command::EvalUpsert(EvalUpsert { evals: vec![done] }))
        .unwrap();
    let j = s.job("default", "web").unwrap();
    assert_eq!((j.status.as_str(), j.modify_index), (job_status::DEAD, 7));
}

#[test]
fn client_update_rejections_change_nothing() {
    let mut s = populated();
    let mk = |allocs, evals| {
        Command::AllocClientUpdate(AllocClientUpdate {
            allocs,
            evals,
            now: NOW,
        })
    };
    assert!(matches!(
        rejected(&mut s, 5, mk(vec![client_update("zz", "running")], vec![])),
        StateError::AllocNotFound(_)
    ));
    assert!(
        rejected(&mut s, 5, mk(vec![client_update("a1", "dancing")], vec![]))
            .to_string()
            .contains("unknown client status")
    );
    assert!(
        rejected(
            &mut s,
            5,
            mk(
                vec![
                    client_update("a1", "running"),
                    client_update("a1", "failed")
                ],
                vec![]
            )
        )
        .to_string()
        .contains("more than once")
    );
    let bad_eval = Evaluation {
        status: "x".into(),
        ..eval("e7", "web")
    };
    assert!(
        rejected(
            &mut s,
            5,
            mk(vec![client_update("a1", "failed")], vec![bad_eval])
        )
        .to_string()
        .contains("unknown status")
    );
}

#[test]
fn desired_transitions_merge() {
    let mut s = populated();
    let mut t = std::collections::BTreeMap::new();
    t.insert(
        "a1".to_string(),
        DesiredTransition {
            migrate: Some(true),
            ..Default::default()
        },
    );
    let c = AllocDesiredTransitionUpdate {
        transitions: t.clone(),
        evals: vec![eval("e3", "web")],
    };
    s.apply(5, Command::AllocDesiredTransition(c)).unwrap();
    t.insert(
        "a1".to_string(),
        DesiredTransition {
            reschedule: Some(true),
            ..Default::default()
        },
    );
    s.apply(
        6,
        Command::AllocDesiredTransition(AllocDesiredTransitionUpdate {
            transitions: t.clone(),
            evals: vec![],
        }),
    )
    .unwrap();
    let a = s.alloc_stub("a1").unwrap();
    assert_eq!(
        (
            a.desired_transition.migrate,
            a.desired_transition.reschedule
        ),
        (Some(true), Some(true))
    );
    assert_eq!((a.modify_index, a.alloc_modify_index), (6, 4));
    assert!(s.eval("e3").is_some());
    t.insert("zz".to_string(), DesiredTransition::default());
    let err = rejected(
        &mut s,
        7,
        Command::AllocDesiredTransition(AllocDesiredTransitionUpdate {
            transitions: t,
            evals: vec![],
        }),
    );
    assert!(matches!(err, StateError::AllocNotFound(_)));
}

#[test]
fn eval_upsert_keeps_create_index_and_cancels_blocked() {
    let mut s = populated();
    let mut blocked = eval("b1", "web");
    blocked.status = eval_status::BLOCKED.into();
    s.apply(
        5,
        Command::EvalUpsert(EvalUpsert {
            evals: vec![blocked],
        }),
    )
    .unwrap();
    let mut done = eval("e1", "web");
    done.status = eval_status::COMPLETE.into();
    s.apply(6, Command::EvalUpsert(EvalUpsert { evals: vec![done] }))
        .unwrap();
    let e1 = s.eval("e1").unwrap();
    assert_eq!((e1.create_index, e1.modify_index), (3, 6));
    let b1 = s.eval("b1").unwrap();
    assert_eq!(
        (b1.status.as_str(), b1.modify_index),
        (eval_status::CANCELED, 6)
    );
    assert_eq!(s.evals_by_job("default", "web").len(), 2);
    let dup = EvalUpsert {
        evals: vec![eval("x", "web"), eval("x", "web")],
    };
    assert!(
        rejected(&mut s, 7, Command::EvalUpsert(dup))
            .to_string()
            .contains("twice")
    );
}

#[test]
fn eval_delete_collects_and_marks_job_dead() {
    let mut s = populated();
    let gc = EvalDelete {
        eval_ids: vec!["e1".into(), "unknown".into()],
        alloc_ids: vec!["a1".into(), "a2".into()],
    };
    s.apply(5, Command::EvalDelete(gc)).unwrap();
    assert!(s.eval("e1").is_none() && s.alloc("a1").is_none());
    assert!(s.evals_by_job("default", "web").is_empty());
    assert!(s.allocs_by_eval("e1").is_empty());
    assert_eq!(s.job("default", "web").unwrap().status, job_status::DEAD);
    assert_eq!((s.index(table::EVALS), s.index(table::ALLOCS)), (5, 5));
}

#[test]
fn gc_batch_removes_what_it_names_and_skips_the_unknown() {
    let mut s = populated();
    let latest = s.latest_index();
    let node_ids: Vec<(String, u64)> = s.nodes().map(|n| (n.id.clone(), n.modify_index)).collect();
    let alloc_ids: Vec<String> = s.allocs().map(|a| a.id.clone()).collect();
    let eval_ids: Vec<String> = s.evals().map(|e| e.id.clone()).collect();
    let jobs: Vec<(String, String, u64)> = s
        .jobs()
        .map(|j| (j.namespace.clone(), j.id.clone(), j.modify_index))
        .collect();
    // A stale ModifyIndex (the job was re-registered since) keeps the job.
    let stale = GcBatch {
        jobs: vec![(jobs[0].0.clone(), jobs[0].1.clone(), 1)],
        ..GcBatch::default()
    };
    s.apply(latest + 1, Command::GcBatch(stale)).unwrap();
    assert_eq!(s.jobs().count(), jobs.len());
    let latest = latest + 1;
    assert!(!alloc_ids.is_empty() && !jobs.is_empty());
    let batch = GcBatch {
        evals: eval_ids.iter().cloned().chain(["nope".into()]).collect(),
        allocs: alloc_ids,
        jobs: jobs.clone(),
        deployments: vec!["missing".into()],
        nodes: node_ids,
    };
    s.apply(latest + 1, Command::GcBatch(batch.clone()))
        .unwrap();
    assert_eq!(s.allocs().count(), 0);
    assert_eq!(s.evals().count(), 0);
    assert_eq!(s.jobs().count(), 0);
    assert_eq!(s.nodes().count(), 0);
    assert!(s.job_versions(&jobs[0].0, &jobs[0].1).is_empty());
    assert_eq!(s.node_usage("n1"), crate::model::Usage::default());
    // Repeating it changes nothing and is not an error.
    s.apply(latest + 2, Command::GcBatch(batch)).unwrap();
    let snap = s.snapshot().unwrap();
    assert_eq!(StateStore::restore(&snap).unwrap(), s);
}

#[test]
fn a_replacement_links_the_allocation_it_replaces() {
    let mut s = populated();
    client(&mut s, 5, vec![client_update("a1", client_status::FAILED)]);
    // The replacement is placed and the failed allocation stopped in one plan.
    let mut next = alloc("a3", "web", "n2", 0);
    next.previous_allocation = "a1".into();
    let mut p = plan(vec![next.clone()]);
    p.allocs_stopped.push(AllocStop {
        alloc_id: "a1".into(),
        desired_description: "alloc was rescheduled because it failed".into(),
        client_status: None,
    });
    apply_plan(&mut s, 6, p);
    let prev = s.alloc_stub("a1").unwrap();
    assert_eq!(prev.next_allocation, "a3");
    assert_eq!(prev.desired_status, desired_status::STOP);
    assert_eq!((prev.modify_index, prev.alloc_modify_index), (6, 6));
    // Linked on its own (the stop came earlier): only ModifyIndex moves, as in Nomad.
    let mut later = alloc("a4", "web", "n2", 1);
    later.previous_allocation = "a2".into();
    apply_plan(&mut s, 7, plan(vec![later]));
    let a2 = s.alloc_stub("a2").unwrap();
    assert_eq!(a2.next_allocation, "a4");
    assert_eq!((a2.modify_index, a2.alloc_modify_index), (7, 4));
    // Updating the replacement in place leaves the link (and its index) alone.
    next.eval_id = "e2".into();
    apply_plan(&mut s, 8, plan(vec![next]));
    assert_eq!(s.alloc_stub("a1").unwrap().modify_index, 6);
    // An update of the replaced allocation planned on an older snapshot keeps the link.
    let mut stale = alloc("a2", "web", "n1", 1);
    stale.followup_eval_id = "f1".into();
    apply_plan(&mut s, 9, plan(vec![stale]));
    assert_eq!(s.alloc_stub("a2").unwrap().next_allocation, "a4");
    // A replaced allocation that is gone (garbage collected) is no error.
    let mut orphan = alloc("a5", "web", "n1", 2);
    orphan.previous_allocation = "gone".into();
    apply_plan(&mut s, 10, plan(vec![orphan]));
}

/// A stop is written into the stored allocation in place: the per-job index sees the
/// stopped allocation (not what stood in for it during the commit), and a copy of the
/// store taken before (which shares the allocation) still sees it running.
#[test]
fn a_stop_in_place_leaves_earlier_copies_alone() {
    let mut s = populated();
    let before = s.clone();
    let mut next = alloc("a3", "web", "n2", 0);
    next.previous_allocation = "a1".into();
    let mut p = plan(vec![next]);
    p.allocs_stopped.push(AllocStop {
        alloc_id: "a1".into(),
        desired_description: "alloc is lost since its node is down".into(),
        client_status: Some(client_status::LOST.into()),
    });
    apply_plan(&mut s, 5, p);
    let stopped = s.alloc_stub("a1").unwrap();
    assert_eq!(
        (
            stopped.desired_status.as_str(),
            stopped.client_status.as_str()
        ),
        (desired_status::STOP, client_status::LOST)
    );
    assert_eq!(stopped.next_allocation, "a3");
    assert_eq!((stopped.modify_index, stopped.alloc_modify_index), (5, 5));
    let by_job = s.allocs_by_job("default", "web");
    let indexed = by_job.iter().find(|a| a.id == "a1").unwrap();
    assert_eq!(**indexed, *stopped);
    let old = before.alloc_stub("a1").unwrap();
    assert_eq!(old.desired_status, desired_status::RUN);
    assert!(old.next_allocation.is_empty());
    assert_ne!(*old, *stopped);
}
