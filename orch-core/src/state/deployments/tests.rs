use crate::model::{Allocation, deployment_status};
use crate::state::testutil::*;
use crate::state::*;

/// populated() plus deployment d1 for web v0 with canary c1 (n1) and member m1 (n2).
fn with_deployment() -> StateStore {
    let mut s = populated();
    let j = s.job("default", "web").unwrap().clone();
    let mut d = deployment("d1", &j);
    if let Some(g) = d.task_groups.get_mut("web") {
        g.placed_canaries = vec!["c1".into()];
        g.require_progress_by = crate::model::Timestamp(NOW);
    }
    let mut c1 = alloc("c1", "web", "n1", 0);
    c1.deployment_id = "d1".into();
    c1.deployment_status = Some(crate::model::AllocDeploymentStatus {
        canary: true,
        ..Default::default()
    });
    let mut m1: Allocation = alloc("m1", "web", "n2", 1);
    m1.deployment_id = "d1".into();
    let mut p = plan(vec![c1, m1]);
    p.deployment = Some(d);
    s.apply(5, Command::ApplyPlanResults(p)).unwrap();
    s
}

fn health(healthy: &[&str], unhealthy: &[&str]) -> Command {
    Command::DeploymentAllocHealth(DeploymentAllocHealth {
        deployment_id: "d1".into(),
        healthy: healthy.iter().map(|s| s.to_string()).collect(),
        unhealthy: unhealthy.iter().map(|s| s.to_string()).collect(),
        eval: Some(eval("eh", "web")),
        now: NOW + 3,
    })
}

fn promote(groups: Option<Vec<&str>>) -> Command {
    Command::DeploymentPromote(DeploymentPromote {
        deployment_id: "d1".into(),
        groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
        eval: None,
        now: NOW + 100,
    })
}

fn set_status(status: &str) -> Command {
    Command::DeploymentStatusUpdate(DeploymentStatusUpdate {
        deployment_id: "d1".into(),
        status: status.into(),
        status_description: format!("now {status}"),
        eval: Some(eval("ed", "web")),
        now: NOW,
    })
}

#[test]
fn plan_deployment_counts_placements() {
    let s = with_deployment();
    let d = s.deployment("d1").unwrap();
    assert_eq!((d.create_index, d.modify_index), (5, 5));
    assert_eq!(d.task_groups["web"].placed_allocs, 2);
    assert_eq!(
        s.latest_deployment_by_job("default", "web").unwrap().id,
        "d1"
    );
    assert_eq!(s.deployments_by_job("default", "web").len(), 1);
    assert_eq!(s.index(table::DEPLOYMENTS), 5);
}

#[test]
fn alloc_health_moves_counters_both_ways() {
    let mut s = with_deployment();
    let r = s.apply(6, health(&["c1"], &["m1"])).unwrap();
    assert_eq!(r.eval_id, "eh");
    let g = &s.deployment("d1").unwrap().task_groups["web"];
    assert_eq!((g.healthy_allocs, g.unhealthy_allocs), (1, 1));
    let c1 = s.alloc_stub("c1").unwrap();
    let ds = c1.deployment_status.as_ref().unwrap();
    assert_eq!(
        (ds.healthy, ds.timestamp.0, ds.modify_index, ds.canary),
        (Some(true), NOW + 3, 6, true)
    );
    assert_eq!((c1.modify_index, c1.alloc_modify_index), (6, 5));
    s.apply(7, health(&["m1"], &[])).unwrap();
    let g = &s.deployment("d1").unwrap().task_groups["web"];
    assert_eq!((g.healthy_allocs, g.unhealthy_allocs), (2, 0));
    // A client health report counts the same way.
    let mut u = client_update("m1", "running");
    u.deployment_status = Some(crate::model::AllocDeploymentStatus {
        healthy: Some(false),
        ..Default::default()
    });
    s.apply(
        8,
        Command::AllocClientUpdate(AllocClientUpdate {
            allocs: vec![u],
            evals: vec![],
            now: NOW,
        }),
    )
    .unwrap();
    let g = &s.deployment("d1").unwrap().task_groups["web"];
    assert_eq!((g.healthy_allocs, g.unhealthy_allocs), (1, 1));
}

#[test]
fn alloc_health_rejections_change_nothing() {
    let mut s = with_deployment();
    assert!(matches!(
        rejected(&mut s, 6, health(&["zz"], &[])),
        StateError::AllocNotFound(_)
    ));
    assert!(
        rejected(&mut s, 6, health(&["a1"], &[]))
            .to_string()
            .contains("is not part of deployment")
    );
    assert!(
        rejected(&mut s, 6, health(&["c1"], &["c1"]))
            .to_string()
            .contains("more than once")
    );
    let mut missing = health(&["c1"], &[]);
    if let Command::DeploymentAllocHealth(c) = &mut missing {
        c.deployment_id = "zz".into();
    }
    assert!(matches!(
        rejected(&mut s, 6, missing),
        StateError::DeploymentNotFound(_)
    ));
    s.apply(6, set_status(deployment_status::FAILED)).unwrap();
    assert!(
        rejected(&mut s, 7, health(&["c1"], &[]))
            .to_string()
            .contains("terminal deployment")
    );
}

#[test]
fn promote_needs_healthy_canaries() {
    let mut s = with_deployment();
    let err = rejected(&mut s, 6, promote(None));
    assert!(
        err.to_string()
            .starts_with("Task group \"web\" has 0/1 healthy allocations"),
        "{err}"
    );
    assert!(
        rejected(&mut s, 6, promote(Some(vec!["db"])))
            .to_string()
            .contains("no task group \"db\"")
    );
    s.apply(6, health(&["c1"], &[])).unwrap();
    s.apply(7, promote(Some(vec!["web"]))).unwrap();
    let d = s.deployment("d1").unwrap();
    let g = &d.task_groups["web"];
    assert!(g.promoted);
    assert_eq!(g.require_progress_by.0, NOW + 100 + 600_000_000_000);
    assert_eq!(d.status_description, "Deployment is running");
    let c1 = s.alloc_stub("c1").unwrap();
    assert!(!c1.deployment_status.as_ref().unwrap().canary);
    assert_eq!(c1.alloc_modify_index, 7);
}

#[test]
fn promote_without_canaries_is_refused() {
    let mut s = with_deployment();
    let mut p = plan(vec![]);
    let mut d = s.deployment("d1").unwrap().clone();
    if let Some(g) = d.task_groups.get_mut("web") {
        g.desired_canaries = 0;
    }
    p.deployment = Some(d);
    s.apply(6, Command::ApplyPlanResults(p)).unwrap();
    assert!(
        rejected(&mut s, 7, promote(None))
            .to_string()
            .starts_with("no canaries to promote")
    );
}

#[test]
fn status_update_success_marks_version_stable() {
    let mut s = with_deployment();
    let r = s
        .apply(6, set_status(deployment_status::SUCCESSFUL))
        .unwrap();
    assert_eq!(r.eval_id, "ed");
    let d = s.deployment("d1").unwrap();
    assert_eq!(
        (
            d.status.as_str(),
            d.status_description.as_str(),
            d.modify_index
        ),
        ("successful", "now successful", 6)
    );
    assert!(s.job("default", "web").unwrap().stable);
    assert!(s.job_version("default", "web", 0).unwrap().stable);
    assert!(
        rejected(&mut s, 7, set_status(deployment_status::PAUSED))
            .to_string()
            .contains("terminal deployment")
    );
}

#[test]
fn status_update_rejections_change_nothing() {
    let mut s = with_deployment();
    assert!(
        rejected(&mut s, 6, set_status("sideways"))
            .to_string()
            .contains("unknown status")
    );
    let mut missing = set_status("paused");
    if let Command::DeploymentStatusUpdate(c) = &mut missing {
        c.deployment_id = "zz".into();
    }
    assert!(matches!(
        rejected(&mut s, 6, missing),
        StateError::DeploymentNotFound(_)
    ));
    s.apply(6, set_status(deployment_status::PAUSED)).unwrap();
    assert_eq!(s.deployment("d1").unwrap().status, "paused");
    assert!(!s.job("default", "web").unwrap().stable);
}
