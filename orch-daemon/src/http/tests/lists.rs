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
    env.fails(
        "PUT",
        "/v1/search",
        Some(json!({"Prefix": "a", "Context": "volumes"})),
        StatusCode::NOT_IMPLEMENTED,
    )
    .await;
    // Fuzzy: substrings of job, group, task and node names, with their scope.
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
