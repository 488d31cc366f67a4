//! Job endpoints end to end: register, read, list, versions, scale, plan, deregister,
//! and how bad job input is refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{bad_job, start};

#[tokio::test]
async fn job_lifecycle_register_read_list_update_scale_deregister() {
    let env = start().await;
    let job = env.web_job().await;
    assert_eq!(job["ID"], "web");
    assert_eq!(job["TaskGroups"][0]["Count"], 2);

    let (reg, index) = env
        .ok("PUT", "/v1/jobs", Some(json!({"Job": job.clone()})))
        .await;
    assert!(!reg["EvalID"].as_str().unwrap().is_empty());
    assert!(reg["JobModifyIndex"].as_u64().unwrap() > 0);
    assert_eq!(reg["KnownLeader"], true);
    assert_eq!(index, reg["Index"].as_u64().unwrap());

    let (got, index) = env.ok("GET", "/v1/job/web", None).await;
    assert_eq!(got["ID"], "web");
    assert_eq!(got["Version"], 0);
    assert_eq!(got["Status"], "pending");
    assert!(index > 0);

    let mut other = job.clone();
    other["ID"] = json!("api");
    other["Name"] = json!("api");
    env.ok("POST", "/v1/jobs", Some(json!({"Job": other})))
        .await;
    let all = env.get("/v1/jobs").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let web = env.get("/v1/jobs?prefix=we").await;
    assert_eq!(web.as_array().unwrap().len(), 1);
    assert_eq!(web[0]["ID"], "web");
    assert_eq!(web[0]["Type"], "service");
    assert_eq!(web[0]["JobSummary"]["Summary"]["frontend"]["Queued"], 2);
    assert_eq!(env.get("/v1/jobs?prefix=zz").await, json!([]));
    assert_eq!(
        env.get("/v1/jobs?namespace=*")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(env.get("/v1/jobs?namespace=other").await, json!([]));

    // An update through /v1/job/:id makes version 1.
    let mut updated = job.clone();
    updated["TaskGroups"][0]["Tasks"][0]["Env"]["GREETING"] = json!("changed");
    env.ok("POST", "/v1/job/web", Some(json!({"Job": updated})))
        .await;
    let versions = env.get("/v1/job/web/versions").await;
    let list = versions["Versions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["Version"], 1);
    assert_eq!(list[1]["Version"], 0);

    // Check-and-set with a stale index is refused.
    let text = env
        .fails(
            "PUT",
            "/v1/jobs",
            Some(json!({"Job": job.clone(), "EnforceIndex": true, "JobModifyIndex": 1})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains("Enforcing job modify index 1"), "{text}");

    // Scale.
    let scaled = env
        .ok(
            "POST",
            "/v1/job/web/scale",
            Some(json!({"Count": 5, "Target": {"Group": "frontend"}, "Message": "more"})),
        )
        .await
        .0;
    assert!(!scaled["EvalID"].as_str().unwrap().is_empty());
    assert_eq!(env.get("/v1/job/web").await["TaskGroups"][0]["Count"], 5);
    let status = env.get("/v1/job/web/scale").await;
    assert_eq!(status["TaskGroups"]["frontend"]["Desired"], 5);
    let ev = &status["TaskGroups"]["frontend"]["Events"][0];
    assert_eq!(
        (ev["Count"].as_i64(), ev["Message"].as_str()),
        (Some(5), Some("more"))
    );
    assert_eq!(ev["EvalID"], scaled["EvalID"]);
    assert!(ev["PreviousCount"].as_i64().is_some_and(|c| c != 5), "{ev}");
    // An error report: an event, no new count and no evaluation.
    let reported = env
        .ok(
            "POST",
            "/v1/job/web/scale",
            Some(json!({"Error": true, "Target": {"Group": "frontend"},
                        "Message": "source down", "Meta": {"why": "test"}})),
        )
        .await
        .0;
    assert_eq!(reported["EvalID"], "");
    let status = env.get("/v1/job/web/scale").await;
    let ev = &status["TaskGroups"]["frontend"]["Events"][0];
    assert_eq!(
        (ev["Error"].as_bool(), &ev["Count"]),
        (Some(true), &Value::Null)
    );
    assert_eq!(ev["Meta"]["why"], "test");
    assert_eq!(status["TaskGroups"]["frontend"]["Desired"], 5);
    env.fails(
        "POST",
        "/v1/job/web/scale",
        Some(json!({"Target": {"Group": "frontend"}})),
        StatusCode::BAD_REQUEST,
    )
    .await;
    env.fails(
        "POST",
        "/v1/job/web/scale",
        Some(json!({"Count": 1, "Target": {"Group": "nope"}})),
        StatusCode::BAD_REQUEST,
    )
    .await;

    let summary = env.get("/v1/job/web/summary").await;
    assert_eq!(summary["JobID"], "web");
    assert!(summary["Summary"]["frontend"].is_object());
    let evals = env.get("/v1/job/web/evaluations").await;
    assert_eq!(evals.as_array().unwrap().len(), 3);
    let evaluated = env
        .ok("POST", "/v1/job/web/evaluate", Some(json!({})))
        .await
        .0;
    assert!(!evaluated["EvalID"].as_str().unwrap().is_empty());
    assert_eq!(env.get("/v1/job/web/deployment").await, Value::Null);
    assert_eq!(env.get("/v1/job/web/deployments").await, json!([]));

    // Stable and revert.
    env.ok(
        "POST",
        "/v1/job/web/stable",
        Some(json!({"JobVersion": 0, "Stable": true})),
    )
    .await;
    let reverted = env
        .ok("POST", "/v1/job/web/revert", Some(json!({"JobVersion": 0})))
        .await
        .0;
    assert!(!reverted["EvalID"].as_str().unwrap().is_empty());

    // Stop, then purge.
    let stopped = env.ok("DELETE", "/v1/job/web", None).await.0;
    assert!(!stopped["EvalID"].as_str().unwrap().is_empty());
    assert_eq!(env.get("/v1/job/web").await["Stop"], true);
    env.ok("DELETE", "/v1/job/web?purge=true", None).await;
    let text = env
        .fails("GET", "/v1/job/web", None, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(text, "job not found");
    env.fails("DELETE", "/v1/job/web", None, StatusCode::NOT_FOUND)
        .await;
    // Only parameterized jobs can be dispatched.
    let text = env
        .fails(
            "POST",
            "/v1/job/api/dispatch",
            Some(json!({})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains("not a parameterized job"), "{text}");
}

#[tokio::test]
async fn plan_annotates_without_committing() {
    let env = start().await;
    env.add_node("n1").await;
    env.add_node("n2").await;
    let mut job = env.web_job().await;
    job["ID"] = json!("planned");
    job["Name"] = json!("planned");
    let (plan, _) = env
        .ok(
            "POST",
            "/v1/job/planned/plan",
            Some(json!({"Job": job.clone(), "Diff": true})),
        )
        .await;
    let du = &plan["Annotations"]["DesiredTGUpdates"]["frontend"];
    assert_eq!(du["Place"], 2, "{plan}");
    assert_eq!(du["Stop"], 0);
    assert_eq!(plan["FailedTGAllocs"], Value::Null, "{plan}");
    assert_eq!(plan["Diff"]["Type"], "Added");
    assert_eq!(plan["JobModifyIndex"], 0);
    // Nothing was committed.
    env.fails("GET", "/v1/job/planned", None, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(env.get("/v1/evaluations").await, json!([]));

    // Register, place two allocations, then plan a third.
    let reg = env
        .ok("PUT", "/v1/jobs", Some(json!({"Job": job.clone()})))
        .await
        .0;
    let eval = reg["EvalID"].as_str().unwrap().to_string();
    env.place("planned", &eval, &["n1", "n2"]).await;
    let mut bigger = job.clone();
    bigger["TaskGroups"][0]["Count"] = json!(3);
    let plan = env
        .ok(
            "PUT",
            "/v1/job/planned/plan",
            Some(json!({"Job": bigger, "Diff": true})),
        )
        .await
        .0;
    let du = &plan["Annotations"]["DesiredTGUpdates"]["frontend"];
    assert_eq!(du["Place"], 1, "{plan}");
    let kept = du["Ignore"].as_u64().unwrap()
        + du["InPlaceUpdate"].as_u64().unwrap()
        + du["DestructiveUpdate"].as_u64().unwrap();
    assert_eq!(kept, 2, "{plan}");
    assert_eq!(plan["Diff"]["Type"], "Edited");
    assert_eq!(plan["JobModifyIndex"], reg["JobModifyIndex"]);
    assert_eq!(
        env.get("/v1/job/planned").await["TaskGroups"][0]["Count"],
        2
    );

    // A plan for more than fits reports the failed group.
    let mut huge = job.clone();
    huge["TaskGroups"][0]["Tasks"][0]["Resources"]["MemoryMB"] = json!(1_000_000);
    let plan = env
        .ok("POST", "/v1/job/planned/plan", Some(json!({"Job": huge})))
        .await
        .0;
    assert!(plan["FailedTGAllocs"]["frontend"].is_object(), "{plan}");
    assert_eq!(plan["Diff"], Value::Null);
}

#[tokio::test]
async fn bad_input_is_a_400_with_field_paths() {
    let env = start().await;
    let mut wrong_type = bad_job();
    wrong_type["Job"]["TaskGroups"][0]["Count"] = json!("two");
    let text = env
        .fails("PUT", "/v1/jobs", Some(wrong_type), StatusCode::BAD_REQUEST)
        .await;
    assert!(text.contains("TaskGroups[0].Count"), "{text}");

    let mut unknown = bad_job();
    unknown["Job"]["TaskGroups"][0]["Tasks"][0]["Colour"] = json!("red");
    let text = env
        .fails("PUT", "/v1/jobs", Some(unknown), StatusCode::BAD_REQUEST)
        .await;
    assert!(text.contains("TaskGroups[0].Tasks[0].Colour"), "{text}");

    let mut small = bad_job();
    small["Job"]["TaskGroups"][0]["Tasks"][0]["Resources"]["MemoryMB"] = json!(4);
    small["Job"]["Priority"] = json!(500);
    let text = env
        .fails(
            "POST",
            "/v1/jobs",
            Some(small.clone()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        text.contains("TaskGroups[0].Tasks[0].Resources.MemoryMB"),
        "{text}"
    );
    assert!(text.contains("Priority"), "every error is listed: {text}");
    let v = env.ok("PUT", "/v1/validate/job", Some(small)).await.0;
    assert!(v["ValidationErrors"].as_array().unwrap().len() >= 2, "{v}");
    let v = env.ok("PUT", "/v1/validate/job", Some(bad_job())).await.0;
    assert_eq!(v["ValidationErrors"], json!([]));

    let resp = env
        .http
        .put(format!("{}/v1/jobs", env.base))
        .body("{\"Job\": {\"ID\": }")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let text = resp.text().await.unwrap();
    assert!(text.contains("line 1, column 16"), "{text}");

    let text = env
        .fails("PUT", "/v1/jobs", Some(json!({})), StatusCode::BAD_REQUEST)
        .await;
    assert!(text.contains("Job must be specified"), "{text}");
    let text = env
        .fails(
            "POST",
            "/v1/job/other",
            Some(bad_job()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains("does not match"), "{text}");
    let text = env
        .fails(
            "POST",
            "/v1/jobs/parse",
            Some(json!({"JobHCL": "job \"x\" {\n  group \"g\" {\n    count = \n"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains(':'), "{text}");

    env.fails("GET", "/v1/nope", None, StatusCode::NOT_FOUND)
        .await;
    env.fails(
        "GET",
        "/v1/job/missing/summary",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    env.fails(
        "GET",
        "/v1/job/missing/versions",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    env.fails(
        "POST",
        "/v1/job/missing/scale",
        Some(json!({"Count": 1, "Target": {"Group": "g"}})),
        StatusCode::NOT_FOUND,
    )
    .await;
    let big = "x".repeat(super::super::MAX_BODY_BYTES + 1);
    let resp = env
        .http
        .put(format!("{}/v1/jobs", env.base))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let text = resp.text().await.unwrap();
    assert!(text.contains("10 MiB"), "{text}");
}

#[tokio::test]
async fn go_client_bodies_and_namespaces() {
    let env = start().await;
    // The Go API client sends nulls for unset pointers, a Submission, and WriteRequest
    // fields next to the job.
    let mut job = bad_job()["Job"].clone();
    job["Multiregion"] = Value::Null;
    job["Periodic"] = Value::Null;
    job["Update"] = Value::Null;
    job["ConsulToken"] = Value::Null;
    let body = json!({
        "Job": job, "EnforceIndex": false, "JobModifyIndex": 0, "PolicyOverride": false,
        "PreserveCounts": false, "EvalPriority": 70, "Region": "global",
        "Submission": {"Source": "job \"bad\" {}", "Format": "hcl2"},
    });
    env.ok("PUT", "/v1/namespace/prod", Some(json!({"Name": "prod"})))
        .await;
    let reg = env
        .ok("PUT", "/v1/jobs?namespace=prod&region=global", Some(body))
        .await
        .0;
    let eval = reg["EvalID"].as_str().unwrap().to_string();
    assert_eq!(
        env.get(&format!("/v1/evaluation/{eval}")).await["Priority"],
        70
    );
    // The job landed in the namespace of the query.
    env.fails("GET", "/v1/job/bad", None, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(
        env.get("/v1/job/bad?namespace=prod").await["Namespace"],
        "prod"
    );
    assert_eq!(env.get("/v1/jobs").await, json!([]));
    assert_eq!(env.get("/v1/jobs?namespace=prod").await[0]["ID"], "bad");
    assert_eq!(
        env.get("/v1/jobs?namespace=*").await[0]["Namespace"],
        "prod"
    );
    // python-nomad sends purge=True.
    env.ok("DELETE", "/v1/job/bad?namespace=prod&purge=True", None)
        .await;
    env.fails(
        "GET",
        "/v1/job/bad?namespace=prod",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Filters are evaluated now (no job has status "x").
    assert_eq!(
        env.get("/v1/jobs?filter=Status%3D%3D%22x%22").await,
        json!([])
    );
}
