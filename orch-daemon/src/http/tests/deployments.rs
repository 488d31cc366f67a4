//! Deployment writes end to end: promote, manual health, pause/resume, fail, and the
//! errors Nomad gives for each.

use orch_core::model::{AllocDeploymentStatus, Allocation, Deployment, DeploymentState};
use orch_core::state::{ApplyPlanResults, Command};
use reqwest::StatusCode;
use serde_json::json;

use super::{NOW, start};

const D: &str = "dddddddd-0000-4000-8000-000000000001";

/// Job "web" (group "frontend", count 2) with deployment `D` whose group wants
/// `canaries` canaries; allocations c0 (canary when `canaries > 0`) and c1.
async fn env_with_deployment(canaries: u32) -> super::Env {
    let env = start().await;
    env.add_node("n1").await;
    let job = env.web_job().await;
    env.ok("PUT", "/v1/jobs", Some(json!({"Job": job}))).await;
    let mut groups = std::collections::BTreeMap::new();
    groups.insert(
        "frontend".to_string(),
        DeploymentState {
            desired_total: 2,
            desired_canaries: canaries,
            ..DeploymentState::default()
        },
    );
    let create_index = env.get("/v1/job/web").await["CreateIndex"]
        .as_u64()
        .unwrap();
    let allocs = (0..2)
        .map(|i| Allocation {
            id: format!("c{i}"),
            namespace: "default".into(),
            name: format!("web.frontend[{i}]"),
            node_id: "n1".into(),
            job_id: "web".into(),
            task_group: "frontend".into(),
            deployment_id: D.into(),
            deployment_status: (i == 0 && canaries > 0).then(|| AllocDeploymentStatus {
                canary: true,
                ..AllocDeploymentStatus::default()
            }),
            ..Allocation::default()
        })
        .collect();
    env.apply(Command::ApplyPlanResults(ApplyPlanResults {
        allocs_to_upsert: allocs,
        allocs_stopped: vec![],
        allocs_preempted: vec![],
        deployment: Some(Deployment {
            id: D.into(),
            namespace: "default".into(),
            job_id: "web".into(),
            job_create_index: create_index,
            task_groups: groups,
            status: "running".into(),
            ..Deployment::default()
        }),
        deployment_updates: vec![],
        evals: vec![],
        eval_id: String::new(),
        now: NOW,
    }))
    .await;
    env
}

#[tokio::test]
async fn canaries_are_promoted_once_healthy() {
    let env = env_with_deployment(1).await;
    let allocs = env.get(&format!("/v1/deployment/allocations/{D}")).await;
    assert_eq!(allocs.as_array().unwrap().len(), 2);

    let promote = format!("/v1/deployment/promote/{D}");
    let e = env
        .fails(
            "POST",
            &promote,
            Some(json!({"All": true})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("has 0/1 healthy allocations"), "{e}");
    let e = env
        .fails("POST", &promote, Some(json!({})), StatusCode::BAD_REQUEST)
        .await;
    assert!(e.contains("\"All\": true"), "{e}");

    let health = format!("/v1/deployment/allocation-health/{D}");
    let e = env
        .fails("POST", &health, Some(json!({})), StatusCode::BAD_REQUEST)
        .await;
    assert!(
        e.contains("at least one healthy/unhealthy allocation ID"),
        "{e}"
    );
    let (r, _) = env
        .ok(
            "POST",
            &health,
            Some(json!({"HealthyAllocationIDs": ["c0"]})),
        )
        .await;
    assert!(!r["EvalID"].as_str().unwrap().is_empty());
    let d = env.get(&format!("/v1/deployment/{D}")).await;
    assert_eq!(d["TaskGroups"]["frontend"]["HealthyAllocs"], 1);

    let (r, index) = env
        .ok("PUT", &promote, Some(json!({"Groups": ["frontend"]})))
        .await;
    assert_eq!(r["DeploymentModifyIndex"], index);
    assert_eq!(r["EvalCreateIndex"], index);
    let eval = env
        .get(&format!("/v1/evaluation/{}", r["EvalID"].as_str().unwrap()))
        .await;
    assert_eq!(eval["TriggeredBy"], "deployment-watcher");
    assert_eq!(eval["DeploymentID"], D);
    let d = env.get(&format!("/v1/deployment/{D}")).await;
    assert_eq!(d["TaskGroups"]["frontend"]["Promoted"], true);
}

#[tokio::test]
async fn pause_resume_fail_and_terminal_errors() {
    let env = env_with_deployment(0).await;
    let e = env
        .fails(
            "POST",
            &format!("/v1/deployment/promote/{D}"),
            Some(json!({"All": true})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("no canaries to promote"), "{e}");

    let pause = format!("/v1/deployment/pause/{D}");
    let (r, _) = env.ok("POST", &pause, Some(json!({"Pause": true}))).await;
    assert_eq!(r["EvalID"], "");
    let d = env.get(&format!("/v1/deployment/{D}")).await;
    assert_eq!(d["Status"], "paused");
    assert_eq!(d["StatusDescription"], "Deployment is paused");
    let (r, _) = env.ok("POST", &pause, Some(json!({"Pause": false}))).await;
    assert!(!r["EvalID"].as_str().unwrap().is_empty());
    let d = env.get(&format!("/v1/deployment/{D}")).await;
    assert_eq!(d["Status"], "running");
    assert_eq!(d["StatusDescription"], "Deployment is running");

    let fail = format!("/v1/deployment/fail/{D}");
    let (r, _) = env.ok("POST", &fail, None).await;
    assert!(!r["EvalID"].as_str().unwrap().is_empty());
    let d = env.get(&format!("/v1/deployment/{D}")).await;
    assert_eq!(d["Status"], "failed");
    assert_eq!(d["StatusDescription"], "Deployment marked as failed");
    let e = env
        .fails("POST", &fail, None, StatusCode::BAD_REQUEST)
        .await;
    assert!(e.starts_with("can't fail terminal deployment"), "{e}");
    let e = env
        .fails(
            "POST",
            &pause,
            Some(json!({"Pause": true})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.starts_with("can't pause terminal deployment"), "{e}");
    env.fails(
        "POST",
        "/v1/deployment/fail/nope",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}
