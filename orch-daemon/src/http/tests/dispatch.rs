//! `/v1/job/:id/dispatch` and `/v1/job/:id/periodic/force`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Env, start};

const PARAM_HCL: &str = r#"
job "work" {
  type = "batch"
  parameterized {
    payload       = "optional"
    meta_required = ["who"]
    meta_optional = ["how"]
  }
  meta { origin = "parent" }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
      dispatch_payload { file = "in.txt" }
    }
  }
}
"#;

const PERIODIC_HCL: &str = r#"
job "cron" {
  type = "batch"
  periodic {
    crons            = ["0 0 1 1 *"]
    prohibit_overlap = true
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
"#;

async fn register(env: &Env, hcl: &str) -> Value {
    let job = env
        .ok(
            "POST",
            "/v1/jobs/parse",
            Some(json!({"JobHCL": hcl, "Canonicalize": true})),
        )
        .await
        .0;
    env.ok("PUT", "/v1/jobs", Some(json!({"Job": job}))).await.0
}

#[tokio::test]
async fn dispatch_checks_the_request_and_registers_a_child() {
    let env = start().await;
    let reg = register(&env, PARAM_HCL).await;
    assert_eq!(
        reg["EvalID"], "",
        "a parameterized parent gets no evaluation"
    );
    let dispatch = |body: Value| {
        let env = &env;
        async move { env.send("POST", "/v1/job/work/dispatch", Some(body)).await }
    };
    let (s, _, text) = dispatch(json!({"Meta": {"how": "x"}})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        text.contains("Dispatch did not provide required meta keys: [\"who\"]"),
        "{text}"
    );
    let (s, _, text) = dispatch(json!({"Meta": {"who": "a", "bad": "x"}})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("unpermitted metadata keys"), "{text}");
    let big = "A".repeat(21_856); // 16392 bytes decoded.
    let (s, _, text) = dispatch(json!({"Meta": {"who": "a"}, "Payload": big})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("Payload exceeds maximum size"), "{text}");
    let (s, _, text) = dispatch(json!({"Meta": {"who": "a"}, "Payload": "%%%"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("base64"), "{text}");

    let body = json!({"Meta": {"who": "me"}, "Payload": "aGVsbG8=", "IdempotencyToken": "t1"});
    let (r, _) = env
        .ok("PUT", "/v1/job/work/dispatch", Some(body.clone()))
        .await;
    let child_id = r["DispatchedJobID"].as_str().unwrap().to_string();
    assert!(child_id.starts_with("work/dispatch-"), "{child_id}");
    assert_eq!(child_id.rsplit('-').next().unwrap().len(), 8);
    assert!(!r["EvalID"].as_str().unwrap().is_empty());
    assert!(r["EvalCreateIndex"].as_u64() > Some(0) && r["JobCreateIndex"] == r["Index"]);
    let child = env
        .get(&format!("/v1/job/{}", child_id.replace('/', "%2F")))
        .await;
    assert_eq!(child["ParentID"], "work");
    assert_eq!(child["Dispatched"], true);
    assert_eq!(child["Payload"], "aGVsbG8=");
    assert_eq!(child["Meta"]["who"], "me");
    assert_eq!(child["Meta"]["origin"], "parent");
    // The same token returns the same child while it is not dead.
    let (again, _) = env.ok("PUT", "/v1/job/work/dispatch", Some(body)).await;
    assert_eq!(again["DispatchedJobID"], child_id.as_str());
    assert_eq!(again["EvalID"], "");
    let summary = env.get("/v1/job/work/summary").await;
    assert_eq!(summary["Children"]["Pending"], 1, "{summary}");
}

#[tokio::test]
async fn periodic_force_launches_a_child_now() {
    let env = start().await;
    let reg = register(&env, PERIODIC_HCL).await;
    assert_eq!(reg["EvalID"], "");
    let (r, _) = env
        .ok("POST", "/v1/job/cron/periodic/force", Some(json!({})))
        .await;
    let eval_id = r["EvalID"].as_str().unwrap();
    assert!(!eval_id.is_empty() && r["EvalCreateIndex"] == r["Index"]);
    let eval = env.get(&format!("/v1/evaluation/{eval_id}")).await;
    assert_eq!(eval["TriggeredBy"], "periodic-job");
    let child = eval["JobID"].as_str().unwrap();
    assert!(child.starts_with("cron/periodic-"), "{child}");
    let job = env
        .get(&format!("/v1/job/{}", child.replace('/', "%2F")))
        .await;
    assert_eq!(job["ParentID"], "cron");
    assert!(job["Periodic"].is_null());
    let parent = env.get("/v1/job/cron").await;
    assert_eq!(parent["Status"], "running");
    // Plain jobs cannot be forced; unknown jobs are 404.
    let web = env.web_job().await;
    env.ok("PUT", "/v1/jobs", Some(json!({"Job": web}))).await;
    let text = env
        .fails(
            "POST",
            "/v1/job/web/periodic/force",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(text.contains("non-periodic"), "{text}");
    env.fails(
        "POST",
        "/v1/job/nope/periodic/force",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Bad crons and time zones are refused at registration with their field.
    let bad = PERIODIC_HCL.replace("0 0 1 1 *", "0 0 1 13 *");
    let job = env
        .ok(
            "POST",
            "/v1/jobs/parse",
            Some(json!({"JobHCL": bad, "Canonicalize": false})),
        )
        .await
        .0;
    let text = env
        .fails(
            "PUT",
            "/v1/jobs",
            Some(json!({"Job": job})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        text.contains("Periodic.Specs[0]") && text.contains("month"),
        "{text}"
    );
}

#[tokio::test]
async fn plan_reports_the_next_periodic_launch_in_the_job_time_zone() {
    let env = start().await;
    let plan_of = |hcl: String| {
        let env = &env;
        async move {
            let job = env
                .ok(
                    "POST",
                    "/v1/jobs/parse",
                    Some(json!({"JobHCL": hcl, "Canonicalize": true})),
                )
                .await
                .0;
            env.ok("POST", "/v1/job/cron/plan", Some(json!({"Job": job})))
                .await
                .0
        }
    };
    // Midnight on January 1st, of a year after 2024 (the clock is real here).
    let plan = plan_of(PERIODIC_HCL.to_string()).await;
    let next = plan["NextPeriodicLaunch"].as_str().unwrap().to_string();
    assert!(next.ends_with("-01-01T00:00:00Z"), "{plan}");
    assert!(next[..4].parse::<i32>().unwrap() > 2024, "{next}");
    let tokyo = PERIODIC_HCL.replace(
        "prohibit_overlap = true",
        "prohibit_overlap = true\n    time_zone = \"Asia/Tokyo\"",
    );
    let plan = plan_of(tokyo).await;
    let next = plan["NextPeriodicLaunch"].as_str().unwrap();
    assert!(next.ends_with("-01-01T00:00:00+09:00"), "{plan}");
    // Disabled (and plain) jobs: Go's zero time.
    let off = PERIODIC_HCL.replace(
        "prohibit_overlap = true",
        "prohibit_overlap = true\n    enabled = false",
    );
    let plan = plan_of(off).await;
    assert_eq!(plan["NextPeriodicLaunch"], "0001-01-01T00:00:00Z", "{plan}");
}
