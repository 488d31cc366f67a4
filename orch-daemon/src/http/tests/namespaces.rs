use super::*;

#[tokio::test]
async fn namespace_crud_with_indexes_and_errors() {
    let env = start().await;
    let list = env.get("/v1/namespaces").await;
    assert_eq!(list[0]["Name"], "default");
    let (_, index) = env
        .ok(
            "POST",
            "/v1/namespace/team-a",
            Some(json!({"Description": "A team", "Meta": {"owner": "a"}})),
        )
        .await;
    assert!(index > 0);
    let (ns, header) = env.ok("GET", "/v1/namespace/team-a", None).await;
    assert_eq!(ns["Description"], "A team");
    assert_eq!(ns["CreateIndex"], index);
    assert_eq!(header, index);
    env.ok("PUT", "/v1/namespace", Some(json!({"Name": "team-b"})))
        .await;
    let names: Vec<Value> = env
        .get("/v1/namespaces?prefix=team")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["Name"].clone())
        .collect();
    assert_eq!(names, vec![json!("team-a"), json!("team-b")]);
    let e = env
        .fails(
            "POST",
            "/v1/namespace/x",
            Some(json!({"Name": "y"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("does not match"), "{e}");
    let e = env
        .fails(
            "POST",
            "/v1/namespace/x",
            Some(json!({"VaultConfiguration": {"Default": "v"}})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("Namespace.VaultConfiguration"), "{e}");
    let e = env
        .fails(
            "POST",
            "/v1/namespace/bad_name",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("invalid namespace name"), "{e}");
    let e = env
        .fails(
            "DELETE",
            "/v1/namespace/default",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("cannot be deleted"), "{e}");
    env.ok("DELETE", "/v1/namespace/team-b", None).await;
    env.fails("GET", "/v1/namespace/team-b", None, StatusCode::NOT_FOUND)
        .await;
}

#[tokio::test]
async fn jobs_need_their_namespace_and_keep_it_alive() {
    let env = start().await;
    let job = json!({"Job": {"ID": "j", "Name": "j", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec",
            "Config": {"command": "/bin/true"}}]}]}});
    let e = env
        .fails(
            "PUT",
            "/v1/jobs?namespace=nope",
            Some(job.clone()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        e.contains("job \"j\" is in nonexistent namespace \"nope\""),
        "{e}"
    );
    let e = env
        .fails(
            "PUT",
            "/v1/job/j/plan?namespace=nope",
            Some(job.clone()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("nonexistent namespace"), "{e}");
    env.ok("PUT", "/v1/namespace/nope", None).await;
    env.ok("PUT", "/v1/jobs?namespace=nope", Some(job)).await;
    let e = env
        .fails(
            "DELETE",
            "/v1/namespace/nope",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("has 1 jobs"), "{e}");
}

#[tokio::test]
async fn quota_crud_usage_and_attachment() {
    let env = start().await;
    let spec = json!({"Name": "small", "Description": "d", "Limits": [
        {"Region": "global", "RegionLimit": {"CPU": 500, "MemoryMB": 1000}}]});
    let e = env
        .fails(
            "POST",
            "/v1/namespace/team",
            Some(json!({"Quota": "small"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("quota \"small\" does not exist"), "{e}");
    env.ok("POST", "/v1/quota", Some(spec)).await;
    env.ok(
        "POST",
        "/v1/namespace/team",
        Some(json!({"Quota": "small"})),
    )
    .await;
    let q = env.get("/v1/quota/small").await;
    assert_eq!(q["Limits"][0]["RegionLimit"]["CPU"], 500);
    let hash = q["Limits"][0]["Hash"].as_str().unwrap().to_string();
    assert_eq!(env.get("/v1/quotas").await[0]["Name"], "small");
    let u = env.get("/v1/quota/usage/small").await;
    assert_eq!(u["Name"], "small");
    assert_eq!(u["Used"][&hash]["RegionLimit"]["CPU"], 0);
    assert_eq!(env.get("/v1/quota-usages").await[0]["Name"], "small");
    assert_eq!(env.get("/v1/quota/usages").await[0]["Name"], "small");
    let e = env
        .fails("DELETE", "/v1/quota/small", None, StatusCode::BAD_REQUEST)
        .await;
    assert!(e.contains("attached to namespaces team"), "{e}");
    let e = env
        .fails(
            "POST",
            "/v1/quota/big",
            Some(json!({"Limits": [{"Region": "global",
                "RegionLimit": {"CPU": -1}}]})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("RegionLimit.CPU"), "{e}");
    let e = env
        .fails(
            "POST",
            "/v1/quota/big",
            Some(json!({"Limits": [{"Region": "global",
                "RegionLimit": {"DiskMB": 5}}]})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(e.contains("RegionLimit.DiskMB"), "{e}");
    env.ok("POST", "/v1/namespace/team", Some(json!({"Quota": ""})))
        .await;
    env.ok("DELETE", "/v1/quota/small", None).await;
    env.fails("GET", "/v1/quota/small", None, StatusCode::NOT_FOUND)
        .await;
}
