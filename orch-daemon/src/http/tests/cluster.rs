//! Cluster endpoints end to end: nodes, allocations, evaluations, blocking queries,
//! status, agent and metrics.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::start;

#[tokio::test]
async fn nodes_list_read_drain_eligibility() {
    let env = start().await;
    env.add_node("11111111-0000-4000-8000-000000000001").await;
    env.add_node("22222222-0000-4000-8000-000000000002").await;
    let nodes = env.get("/v1/nodes").await;
    assert_eq!(nodes.as_array().unwrap().len(), 2);
    assert_eq!(nodes[0]["Address"], "10.0.0.1");
    assert_eq!(nodes[0]["Status"], "ready");
    assert_eq!(nodes[0]["SchedulingEligibility"], "eligible");
    assert_eq!(nodes[0]["Version"], "1.9.0");
    assert_eq!(
        env.get("/v1/nodes?prefix=2222")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let id = "11111111-0000-4000-8000-000000000001";
    let node = env.get(&format!("/v1/node/{id}")).await;
    assert_eq!(node["ID"], id);
    assert_eq!(node["SecretID"], "", "secrets are never served");

    env.ok(
        "POST",
        &format!("/v1/node/{id}/drain"),
        Some(json!({"DrainSpec": {"Deadline": 3_600_000_000_000i64, "IgnoreSystemJobs": false}})),
    )
    .await;
    let node = env.get(&format!("/v1/node/{id}")).await;
    assert_eq!(node["Drain"], true);
    assert_eq!(node["SchedulingEligibility"], "ineligible");
    assert_eq!(node["DrainStrategy"]["Deadline"], 3_600_000_000_000i64);
    env.fails(
        "POST",
        &format!("/v1/node/{id}/eligibility"),
        Some(json!({"Eligibility": "eligible"})),
        StatusCode::BAD_REQUEST,
    )
    .await;
    env.ok(
        "POST",
        &format!("/v1/node/{id}/drain"),
        Some(json!({"DrainSpec": null, "MarkEligible": true})),
    )
    .await;
    let node = env.get(&format!("/v1/node/{id}")).await;
    assert_eq!(node["Drain"], false);
    assert_eq!(node["SchedulingEligibility"], "eligible");

    env.ok(
        "PUT",
        &format!("/v1/node/{id}/eligibility"),
        Some(json!({"Eligibility": "ineligible"})),
    )
    .await;
    assert_eq!(
        env.get(&format!("/v1/node/{id}")).await["SchedulingEligibility"],
        "ineligible"
    );
    let text = env
        .fails(
            "PUT",
            &format!("/v1/node/{id}/eligibility"),
            Some(json!({"Eligibility": "maybe"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains("eligible"), "{text}");
    let evals = env
        .ok("POST", &format!("/v1/node/{id}/evaluate"), None)
        .await
        .0;
    assert_eq!(evals["EvalIDs"], json!([]));
    assert_eq!(
        env.fails("GET", "/v1/node/nope", None, StatusCode::NOT_FOUND)
            .await,
        "node not found"
    );
    env.fails(
        "POST",
        "/v1/node/nope/drain",
        Some(json!({"DrainSpec": null})),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn allocations_and_evaluations() {
    let env = start().await;
    env.add_node("n1").await;
    env.add_node("n2").await;
    let job = env.web_job().await;
    let reg = env.ok("PUT", "/v1/jobs", Some(json!({"Job": job}))).await.0;
    let eval = reg["EvalID"].as_str().unwrap().to_string();
    let ids = env.place("web", &eval, &["n1", "n2"]).await;

    let allocs = env.get("/v1/allocations").await;
    assert_eq!(allocs.as_array().unwrap().len(), 2);
    assert_eq!(allocs[0]["JobType"], "service");
    assert_eq!(allocs[0]["ClientStatus"], "running");
    assert!(allocs[0].get("Job").is_none(), "stubs carry no job");
    assert!(allocs[0].get("AllocatedResources").is_none());
    // Nomad's `resources=true` (the UI's topology) adds what each one reserves;
    // `task_states=false` leaves the task states out.
    let with = env
        .get("/v1/allocations?resources=true&task_states=false")
        .await;
    let tasks = with[0]["AllocatedResources"]["Tasks"].as_object().unwrap();
    assert!(
        tasks
            .values()
            .all(|t| t["Cpu"]["CpuShares"].as_u64() > Some(0))
    );
    assert!(with[0]["TaskStates"].is_null());
    let refused = env
        .fails(
            "GET",
            "/v1/allocations?resources=maybe",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(refused.contains("resources"), "{refused}");
    let prefix = &ids[1][..8];
    assert_eq!(
        env.get(&format!("/v1/allocations?prefix={prefix}"))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let full = env.get(&format!("/v1/allocation/{}", ids[0])).await;
    assert_eq!(full["Job"]["ID"], "web");
    assert_eq!(full["NodeID"], "n1");
    assert_eq!(
        env.get("/v1/job/web/allocations")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let on_node = env.get("/v1/node/n2/allocations").await;
    assert_eq!(on_node.as_array().unwrap().len(), 1);
    assert_eq!(on_node[0]["Job"]["ID"], "web");

    let evals = env.get("/v1/evaluations").await;
    assert_eq!(evals.as_array().unwrap().len(), 1);
    assert_eq!(evals[0]["ID"], eval.as_str());
    assert_eq!(evals[0]["TriggeredBy"], "job-register");
    assert_eq!(evals[0]["Status"], "pending");
    let one = env.get(&format!("/v1/evaluation/{eval}")).await;
    assert_eq!(one["JobID"], "web");
    assert_eq!(
        env.get(&format!("/v1/evaluation/{eval}/allocations"))
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(env.get("/v1/evaluations?status=complete").await, json!([]));

    let stop = env
        .ok("POST", &format!("/v1/allocation/{}/stop", ids[0]), None)
        .await
        .0;
    let stop_eval = stop["EvalID"].as_str().unwrap();
    assert!(stop["Index"].as_u64().unwrap() > 0);
    let full = env.get(&format!("/v1/allocation/{}", ids[0])).await;
    assert_eq!(full["DesiredTransition"]["Migrate"], true);
    assert_eq!(
        env.get(&format!("/v1/evaluation/{stop_eval}")).await["TriggeredBy"],
        "alloc-stop"
    );

    let evals = env.ok("POST", "/v1/node/n1/evaluate", None).await.0;
    assert_eq!(evals["EvalIDs"].as_array().unwrap().len(), 1);

    assert_eq!(
        env.fails("GET", "/v1/allocation/nope", None, StatusCode::NOT_FOUND)
            .await,
        "alloc not found"
    );
    assert_eq!(
        env.fails("GET", "/v1/evaluation/nope", None, StatusCode::NOT_FOUND)
            .await,
        "eval not found"
    );
    env.fails(
        "POST",
        "/v1/allocation/nope/stop",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    env.fails("GET", "/v1/deployment/nope", None, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(env.get("/v1/deployments").await, json!([]));
}

#[tokio::test]
async fn blocking_queries_wait_for_a_write() {
    let env = start().await;
    env.add_node("n1").await;
    let job = env.web_job().await;
    env.ok("PUT", "/v1/jobs", Some(json!({"Job": job.clone()})))
        .await;
    let (_, index) = env.ok("GET", "/v1/jobs", None).await;
    assert!(index >= 2);

    // Behind: answers at once.
    let t = Instant::now();
    env.ok(
        "GET",
        &format!("/v1/jobs?index={}&wait=5s", index - 1),
        None,
    )
    .await;
    assert!(t.elapsed() < Duration::from_secs(2));

    // Current: waits for the next change of the jobs table.
    let mut other = job.clone();
    other["ID"] = json!("later");
    other["Name"] = json!("later");
    let writer = env.http.clone();
    let url = format!("{}/v1/jobs", env.base);
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        writer
            .put(url)
            .json(&json!({"Job": other}))
            .send()
            .await
            .unwrap()
            .status()
    });
    let t = Instant::now();
    let (list, new_index) = env
        .ok("GET", &format!("/v1/jobs?index={index}&wait=10s"), None)
        .await;
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(new_index > index, "{new_index} > {index}");
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(task.await.unwrap(), StatusCode::OK);

    // A write to another table does not wake a job query; the wait times out.
    let t = Instant::now();
    let (_, same) = env
        .ok(
            "GET",
            &format!("/v1/job/web?index={new_index}&wait=300ms"),
            None,
        )
        .await;
    assert!(t.elapsed() >= Duration::from_millis(250));
    assert_eq!(same, new_index);

    env.fails("GET", "/v1/jobs?index=abc", None, StatusCode::BAD_REQUEST)
        .await;
    env.fails(
        "GET",
        "/v1/jobs?wait=forever",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn status_agent_and_metrics() {
    let env = start().await;
    env.add_node("n1").await;
    let job = env.web_job().await;
    env.ok("PUT", "/v1/jobs", Some(json!({"Job": job}))).await;

    assert_eq!(env.get("/v1/status/leader").await, "127.0.0.1:4647");
    assert_eq!(env.get("/v1/status/peers").await, json!(["127.0.0.1:4647"]));
    assert_eq!(env.get("/v1/regions").await, json!(["global"]));
    let me = env.get("/v1/agent/self").await;
    assert_eq!(me["member"]["Tags"]["region"], "global");
    assert_eq!(me["member"]["Tags"]["dc"], "dc1");
    assert_eq!(me["config"]["Region"], "global");
    assert_eq!(me["stats"]["nomad"]["leader"], "true");
    let members = env.get("/v1/agent/members").await;
    assert_eq!(members["Members"].as_array().unwrap().len(), 1);
    assert_eq!(env.get("/v1/agent/health").await["server"]["ok"], true);
    let raft = env.get("/v1/operator/raft/configuration").await;
    assert_eq!(raft["Servers"][0]["Leader"], true);

    let (status, _, text) = env.send("GET", "/v1/metrics?format=prometheus", None).await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "# TYPE nomad_nomad_jobs gauge",
        "nomad_nomad_jobs{status=\"pending\"} 1",
        "nomad_nomad_nodes{status=\"ready\"} 1",
        "nomad_nomad_evals{status=\"pending\"} 1",
        "nomad_raft_applied_index 2",
        "nomad_nomad_leader_is_leader 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let json = env.get("/v1/metrics").await;
    let gauges = json["Gauges"].as_array().unwrap();
    assert!(gauges.iter().any(|g| g["Name"] == "nomad.nomad.jobs"
        && g["Labels"]["status"] == "pending"
        && g["Value"] == 1.0));
    assert!(json["Timestamp"].as_str().unwrap().ends_with("+0000 UTC"));
    env.fails(
        "GET",
        "/v1/metrics?format=xml",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn remove_peer_refuses_bad_requests_and_the_last_voter() {
    let env = start().await;
    for (path, want) in [
        ("/v1/operator/raft/peer", "missing id= or address="),
        ("/v1/operator/raft/peer?id=x", "not an orch Raft ID"),
        ("/v1/operator/raft/peer?id=1&address=a:1", "not both"),
        (
            "/v1/operator/raft/peer?address=10.0.0.9:4647",
            "no Raft peer",
        ),
        (
            "/v1/operator/raft/peer?address=127.0.0.1:4647",
            "last voter",
        ),
    ] {
        let (status, _, text) = env.send("DELETE", path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {text}");
        assert!(text.contains(want), "{path}: {text}");
    }
    let (status, _, text) = env.send("PUT", "/v1/agent/force-leave?node=zz", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("no server named"), "{text}");
}
