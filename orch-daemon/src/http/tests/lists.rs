//! Search, filter expressions and pagination over the list endpoints.

use reqwest::StatusCode;
use serde_json::json;

use super::start;

#[tokio::test]
async fn prefix_and_fuzzy_search() {
    let env = start().await;
    for id in ["aa01", "aa02", "bb01"] {
        env.add_node(id).await;
    }
    let job = env.web_job().await;
    env.ok("PUT", "/v1/jobs", Some(json!({"Job": job}))).await;
    let (r, _) = env
        .ok(
            "PUT",
            "/v1/search",
            Some(json!({"Prefix": "aa", "Context": "nodes"})),
        )
        .await;
    assert_eq!(r["Matches"]["nodes"], json!(["aa01", "aa02"]));
    assert_eq!(r["Truncations"]["nodes"], false);
    let (r, _) = env
        .ok(
            "POST",
            "/v1/search",
            Some(json!({"Prefix": "we", "Context": "all"})),
        )
        .await;
    assert_eq!(r["Matches"]["jobs"], json!(["web"]));
    assert_eq!(r["Matches"]["nodes"], json!([]));
    assert!(r["Matches"].get("deployment").is_some(), "{r}");
    let msg = env
        .fails(
            "PUT",
            "/v1/search",
            Some(json!({"Prefix": "a", "Context": "pods"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(msg.contains("pods"), "{msg}");
    // Namespaces, node pools, plugins, volumes and quotas are searched too.
    let (r, _) = env
        .ok(
            "PUT",
            "/v1/search",
            Some(json!({"Prefix": "de", "Context": "all"})),
        )
        .await;
    assert_eq!(r["Matches"]["namespaces"], json!(["default"]), "{r}");
    assert_eq!(r["Matches"]["node_pools"], json!(["default"]), "{r}");
    for c in ["plugins", "volumes", "quotas"] {
        assert_eq!(r["Matches"][c], json!([]), "{c}: {r}");
    }
    // Scaling policies and variables are prefix contexts; host volumes are refused by
    // name (orch has no dynamic host volumes).
    let (r, _) = env
        .ok(
            "PUT",
            "/v1/search",
            Some(json!({"Prefix": "", "Context": "scaling_policy"})),
        )
        .await;
    assert_eq!(r["Matches"]["scaling_policy"], json!([]), "{r}");
    env.fails(
        "PUT",
        "/v1/search",
        Some(json!({"Prefix": "a", "Context": "host_volumes"})),
        StatusCode::NOT_IMPLEMENTED,
    )
    .await;
    // Fuzzy: substrings of job, group, task, service and command names, with their
    // scope; `all` adds ID prefix matches of deployments and evaluations.
    let (r, _) = env
        .ok(
            "PUT",
            "/v1/search/fuzzy",
            Some(json!({"Text": "EB", "Context": "all"})),
        )
        .await;
    assert_eq!(
        r["Matches"]["jobs"],
        json!([{"ID": "web", "Scope": ["default"]}])
    );
    assert_eq!(
        r["Matches"]["services"],
        json!([{"ID": "web", "Scope": ["default", "web", "frontend", "server"]}]),
        "{r}"
    );
    assert_eq!(r["Matches"]["deployment"], json!([]), "{r}");
    assert_eq!(r["Truncations"]["jobs"], false, "{r}");
    let (r, _) = env
        .ok(
            "PUT",
            "/v1/search/fuzzy",
            Some(json!({"Text": "ython", "Context": "jobs"})),
        )
        .await;
    assert_eq!(
        r["Matches"]["commands"],
        json!([{"ID": "python3", "Scope": ["default", "web", "frontend", "server"]}]),
        "{r}"
    );
    let (r, _) = env
        .ok(
            "PUT",
            "/v1/search/fuzzy",
            Some(json!({"Text": "ront", "Context": "jobs"})),
        )
        .await;
    assert_eq!(
        r["Matches"]["groups"],
        json!([{"ID": "frontend", "Scope": ["default", "web"]}]),
        "{r}"
    );
    env.fails(
        "PUT",
        "/v1/search/fuzzy",
        Some(json!({"Text": "ab", "Context": "evals"})),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let (r, _) = env
        .ok(
            "PUT",
            "/v1/search/fuzzy",
            Some(json!({"Text": "host-a", "Context": "nodes"})),
        )
        .await;
    assert_eq!(r["Matches"]["nodes"].as_array().unwrap().len(), 2);
    env.fails(
        "PUT",
        "/v1/search/fuzzy",
        Some(json!({"Text": "w", "Context": "all"})),
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn lists_filter_and_paginate() {
    let env = start().await;
    for id in ["n1", "n2", "n3", "n4", "n5"] {
        env.add_node(id).await;
    }
    env.ok(
        "PUT",
        "/v1/node/n2/eligibility",
        Some(json!({"Eligibility": "ineligible"})),
    )
    .await;
    let url = "/v1/nodes?filter=SchedulingEligibility%20%3D%3D%20%22eligible%22&per_page=2";
    let (status, _, text) = env.send("GET", url, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let resp = env
        .http
        .get(format!("{}{url}", env.base))
        .send()
        .await
        .unwrap();
    let next = resp.headers()["x-nomad-nexttoken"]
        .to_str()
        .unwrap()
        .to_string();
    let page: serde_json::Value = resp.json().await.unwrap();
    let ids: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["ID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["n1", "n3"]);
    assert_eq!(next, "n4");
    let page = env.get(&format!("{url}&next_token={next}")).await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    let msg = env
        .fails(
            "GET",
            "/v1/jobs?filter=Status%20%3D%3D",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(msg.contains("expected a value"), "{msg}");
    let job = env.web_job().await;
    env.ok("PUT", "/v1/jobs", Some(json!({"Job": job}))).await;
    let jobs = env.get("/v1/jobs?filter=ID%20matches%20%22%5Ew%22").await;
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    let jobs = env.get("/v1/jobs?filter=Type%20%3D%3D%20batch").await;
    assert_eq!(jobs, json!([]));
    // Endpoints without filter support still say so.
    env.fails(
        "GET",
        "/v1/job/web/allocations?filter=ID%20%3D%3D%20x",
        None,
        StatusCode::NOT_IMPLEMENTED,
    )
    .await;
}
