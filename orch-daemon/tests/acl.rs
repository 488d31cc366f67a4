//! ACLs on the real binary: bootstrap, tokens and policies, what each token may do,
//! expiry, node secrets, and a client that keeps running tasks with ACLs on.

mod common;

use std::time::Duration;

use common::{Agent, first_events, sleep_job, start, temp_dir, wait_for, wait_leader};
use serde_json::{Value, json};

/// One HTTP call with an optional token; status and body text.
fn call(
    agent: &Agent,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = reqwest::Client::new().request(m, format!("{}{path}", agent.http));
        if let Some(t) = token {
            req = req.header("X-Nomad-Token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A dev agent (server + client) with ACLs on; tokens may be given a 1 s lifetime.
fn acl_agent(name: &str) -> Agent {
    let dir = temp_dir(name);
    let config = dir.join("acl.hcl");
    std::fs::write(
        &config,
        "acl {\n  enabled = true\n  token_min_expiration_ttl = \"1s\"\n}\n",
    )
    .unwrap();
    let agent = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&agent);
    agent
}

fn bootstrap(agent: &Agent) -> String {
    let (status, body) = call(agent, "POST", "/v1/acl/bootstrap", None, None);
    assert_eq!(status, 200, "bootstrap: {body}");
    let v = json_of(&body);
    assert_eq!(v["Type"], "management");
    v["SecretID"].as_str().unwrap().to_string()
}

/// Creates a namespace where the API has them (no-op answer otherwise).
fn ensure_namespace(agent: &Agent, mgmt: &str, name: &str) {
    let (status, body) = call(
        agent,
        "POST",
        &format!("/v1/namespace/{name}"),
        Some(mgmt),
        Some(json!({"Name": name})),
    );
    assert!(
        status == 200 || status == 404,
        "namespace {name}: {status} {body}"
    );
}

fn create_token(agent: &Agent, mgmt: &str, body: Value) -> String {
    let (status, text) = call(agent, "POST", "/v1/acl/token", Some(mgmt), Some(body));
    assert_eq!(status, 200, "token create: {text}");
    json_of(&text)["SecretID"].as_str().unwrap().to_string()
}

/// Applies policy `readonly` with `rules` and returns the secret of a client token
/// holding only it.
fn reader_token(agent: &Agent, mgmt: &str, rules: &str) -> String {
    let policy = json!({"Name": "readonly", "Rules": rules});
    let (status, body) = call(
        agent,
        "POST",
        "/v1/acl/policy/readonly",
        Some(mgmt),
        Some(policy),
    );
    assert_eq!(status, 200, "policy apply: {body}");
    create_token(
        agent,
        mgmt,
        json!({"Name": "reader", "Type": "client", "Policies": ["readonly"]}),
    )
}

#[test]
fn anonymous_callers_are_refused_and_bootstrap_gives_a_management_token() {
    let agent = acl_agent("acl-bootstrap");
    let (status, body) = call(
        &agent,
        "PUT",
        "/v1/jobs",
        None,
        Some(sleep_job("anon", "default")),
    );
    assert_eq!(
        (status, body.as_str()),
        (403, "Permission denied"),
        "anonymous job run"
    );
    let (status, _) = call(&agent, "GET", "/v1/jobs", None, None);
    assert_eq!(status, 403, "anonymous job list");
    assert_eq!(
        call(&agent, "GET", "/v1/status/leader", None, None).0,
        200,
        "status stays public"
    );

    let mgmt = bootstrap(&agent);
    let (status, body) = call(&agent, "POST", "/v1/acl/bootstrap", None, None);
    assert_eq!(status, 400, "a second bootstrap: {body}");
    assert!(
        body.contains("ACL bootstrap already done (reset index:"),
        "{body}"
    );

    let (status, body) = call(
        &agent,
        "PUT",
        "/v1/jobs",
        Some(&mgmt),
        Some(sleep_job("managed", "default")),
    );
    assert_eq!(status, 200, "management job run: {body}");
    let (status, body) = call(&agent, "GET", "/v1/acl/token/self", Some(&mgmt), None);
    assert_eq!(status, 200);
    assert_eq!(json_of(&body)["Type"], "management");
    let (status, body) = call(&agent, "GET", "/v1/jobs", Some("not-a-real-secret"), None);
    assert_eq!((status, body.as_str()), (403, "ACL token not found"));
    // The client authenticates with its node secret: the task starts.
    wait_for(
        Duration::from_secs(60),
        "the managed job's allocation to run",
        || {
            let (_, body) = call(
                &agent,
                "GET",
                "/v1/job/managed/allocations",
                Some(&mgmt),
                None,
            );
            json_of(&body)
                .as_array()
                .filter(|a| a.iter().any(|x| x["ClientStatus"] == "running"))
                .map(|_| ())
        },
    );
}

#[test]
fn a_read_only_token_lists_but_cannot_write_or_see_other_namespaces() {
    let agent = acl_agent("acl-readonly");
    let mgmt = bootstrap(&agent);
    ensure_namespace(&agent, &mgmt, "secret");
    for (id, ns) in [("visible", "default"), ("hidden", "secret")] {
        let (status, body) = call(
            &agent,
            "PUT",
            "/v1/jobs",
            Some(&mgmt),
            Some(sleep_job(id, ns)),
        );
        assert_eq!(status, 200, "register {id}: {body}");
    }
    let reader = reader_token(
        &agent,
        &mgmt,
        "namespace \"default\" { policy = \"read\" }\nnode { policy = \"read\" }",
    );

    let (status, body) = call(&agent, "GET", "/v1/jobs", Some(&reader), None);
    assert_eq!(status, 200, "{body}");
    let ids: Vec<String> = json_of(&body)
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["ID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["visible"]);
    let (status, body) = call(&agent, "GET", "/v1/jobs?namespace=*", Some(&reader), None);
    assert_eq!(status, 200, "{body}");
    let all: Vec<Value> = json_of(&body).as_array().unwrap().clone();
    assert!(
        all.iter().all(|j| j["Namespace"] == "default"),
        "namespace=* shows only readable namespaces: {all:?}"
    );
    assert_eq!(
        call(
            &agent,
            "GET",
            "/v1/jobs?namespace=secret",
            Some(&reader),
            None
        )
        .0,
        403
    );
    assert_eq!(
        call(
            &agent,
            "GET",
            "/v1/job/hidden?namespace=secret",
            Some(&reader),
            None
        )
        .0,
        403
    );
    assert_eq!(
        call(&agent, "GET", "/v1/job/visible", Some(&reader), None).0,
        200
    );

    let (status, body) = call(
        &agent,
        "PUT",
        "/v1/jobs",
        Some(&reader),
        Some(sleep_job("nope", "default")),
    );
    assert_eq!(
        (status, body.as_str()),
        (403, "Permission denied"),
        "read-only register"
    );
    assert_eq!(
        call(&agent, "DELETE", "/v1/job/visible", Some(&reader), None).0,
        403,
        "read-only stop"
    );
    assert_eq!(
        call(&agent, "GET", "/v1/nodes", Some(&reader), None).0,
        200,
        "node read"
    );
    assert_eq!(
        call(&agent, "GET", "/v1/acl/tokens", Some(&reader), None).0,
        403,
        "token list needs management"
    );
    assert_eq!(
        call(
            &agent,
            "GET",
            "/v1/operator/raft/configuration",
            Some(&reader),
            None
        )
        .0,
        403
    );

    // An allocation of the hidden job, read by ID, is refused too.
    let (_, body) = call(
        &agent,
        "GET",
        "/v1/allocations?namespace=*",
        Some(&mgmt),
        None,
    );
    if let Some(hidden) = json_of(&body)
        .as_array()
        .and_then(|a| a.iter().find(|x| x["JobID"] == "hidden").cloned())
    {
        let id = hidden["ID"].as_str().unwrap();
        assert_eq!(
            call(
                &agent,
                "GET",
                &format!("/v1/allocation/{id}"),
                Some(&reader),
                None
            )
            .0,
            403
        );
    }
}

#[test]
fn an_expired_token_is_refused() {
    let agent = acl_agent("acl-expiry");
    let mgmt = bootstrap(&agent);
    let policy = json!({"Name": "r", "Rules": "namespace \"*\" { policy = \"read\" }"});
    assert_eq!(
        call(
            &agent,
            "POST",
            "/v1/acl/policy/r",
            Some(&mgmt),
            Some(policy)
        )
        .0,
        200
    );
    let (status, body) = call(
        &agent,
        "POST",
        "/v1/acl/token",
        Some(&mgmt),
        Some(json!({"Policies": ["r"], "ExpirationTTL": "10ms"})),
    );
    assert_eq!(status, 400, "a TTL under the minimum: {body}");
    assert!(body.contains("ExpirationTTL"), "{body}");
    let short = create_token(
        &agent,
        &mgmt,
        json!({"Policies": ["r"], "ExpirationTTL": "2s"}),
    );
    assert_eq!(
        call(&agent, "GET", "/v1/jobs", Some(&short), None).0,
        200,
        "fresh token works"
    );
    let body = wait_for(Duration::from_secs(30), "the token to expire", || {
        let (status, body) = call(&agent, "GET", "/v1/jobs", Some(&short), None);
        (status == 403).then_some(body)
    });
    assert_eq!(body, "ACL token expired");
    // A forced GC removes the expired token; the management token stays.
    let (status, body) = call(&agent, "PUT", "/v1/system/gc", Some(&mgmt), None);
    assert_eq!(status, 200, "gc: {body}");
    let (_, body) = call(&agent, "GET", "/v1/acl/tokens", Some(&mgmt), None);
    let types: Vec<Value> = json_of(&body)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Type"].clone())
        .collect();
    assert_eq!(types, [json!("management")], "{body}");
}

#[test]
fn a_caller_with_a_wrong_node_secret_is_refused() {
    let agent = acl_agent("acl-node-secret");
    let mgmt = bootstrap(&agent);
    let node = wait_for(
        Duration::from_secs(30),
        "the dev client to register",
        || {
            let (_, body) = call(&agent, "GET", "/v1/nodes", Some(&mgmt), None);
            json_of(&body).as_array().and_then(|n| n.first().cloned())
        },
    );
    let id = node["ID"].as_str().unwrap();
    for token in [None, Some("wrong-secret"), Some(mgmt.as_str())] {
        let (status, body) = call(
            &agent,
            "PUT",
            &format!("/v1/internal/node/{id}/heartbeat"),
            token,
            Some(json!({"Status": "ready"})),
        );
        assert_eq!(status, 403, "heartbeat with {token:?}: {body}");
        assert!(body.contains("node secret"), "{body}");
    }
    let (status, body) = call(
        &agent,
        "GET",
        &format!("/v1/node/{id}/allocations"),
        Some("wrong-secret"),
        None,
    );
    assert_eq!(status, 403, "allocation read with a wrong secret: {body}");
    let mut rogue = node.clone();
    rogue["SecretID"] = json!("another-secret");
    let (status, body) = call(
        &agent,
        "PUT",
        "/v1/internal/node/register",
        None,
        Some(json!({"Node": rogue})),
    );
    assert!(
        (400..500).contains(&status),
        "re-registration with another secret: {status} {body}"
    );
    assert!(body.contains("node secret ID does not match"), "{body}");
    // The real client still heartbeats: the node stays ready.
    let (_, body) = call(&agent, "GET", &format!("/v1/node/{id}"), Some(&mgmt), None);
    assert_eq!(json_of(&body)["Status"], "ready");
}

#[test]
fn roles_the_anonymous_policy_and_disabled_acls() {
    let agent = acl_agent("acl-roles");
    let mgmt = bootstrap(&agent);
    let policy = json!({"Name": "nodes", "Rules": "node { policy = \"read\" }"});
    assert_eq!(
        call(
            &agent,
            "POST",
            "/v1/acl/policy/nodes",
            Some(&mgmt),
            Some(policy)
        )
        .0,
        200
    );
    let (status, body) = call(
        &agent,
        "POST",
        "/v1/acl/role",
        Some(&mgmt),
        Some(json!({"Name": "node-readers", "Policies": [{"Name": "nodes"}]})),
    );
    assert_eq!(status, 200, "role create: {body}");
    let via_role = create_token(&agent, &mgmt, json!({"Roles": [{"Name": "node-readers"}]}));
    assert_eq!(
        call(&agent, "GET", "/v1/nodes", Some(&via_role), None).0,
        200,
        "role grants node read"
    );
    assert_eq!(
        call(&agent, "GET", "/v1/jobs", Some(&via_role), None).0,
        403
    );
    let (status, body) = call(
        &agent,
        "POST",
        "/v1/acl/policy/bad",
        Some(&mgmt),
        Some(json!({"Rules": "namespace \"x\" { policy = \"root\" }"})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid policy \"root\""), "{body}");

    assert_eq!(call(&agent, "GET", "/v1/jobs", None, None).0, 403);
    let anon = json!({"Name": "anonymous", "Rules": "namespace \"default\" { policy = \"read\" }"});
    assert_eq!(
        call(
            &agent,
            "POST",
            "/v1/acl/policy/anonymous",
            Some(&mgmt),
            Some(anon)
        )
        .0,
        200
    );
    assert_eq!(
        call(&agent, "GET", "/v1/jobs", None, None).0,
        200,
        "the anonymous policy applies without a token"
    );

    let plain = start(&temp_dir("acl-off"), &["-dev"]);
    wait_leader(&plain);
    let (status, body) = call(&plain, "POST", "/v1/acl/bootstrap", None, None);
    assert_eq!(status, 400);
    assert!(body.contains("ACL support disabled"), "{body}");
    assert_eq!(
        call(&plain, "GET", "/v1/jobs", None, None).0,
        200,
        "without ACLs everyone may"
    );
}

#[test]
fn acl_events_reach_management_tokens_only_and_carry_no_secret() {
    let agent = acl_agent("acl-events");
    let mgmt = bootstrap(&agent);
    let reader = reader_token(&agent, &mgmt, "namespace \"default\" { policy = \"read\" }");
    // The reader subscribes to tokens and jobs: the first events it gets are the
    // job's, registered after every ACL write it replays past.
    let (status, body) = call(
        &agent,
        "PUT",
        "/v1/jobs",
        Some(&mgmt),
        Some(sleep_job("seen", "default")),
    );
    assert_eq!(status, 200, "register: {body}");
    // From index 0: the management token replays the bootstrap and the new token.
    let line = first_events(&agent, "topic=ACLToken&index=0", &mgmt);
    let ev = &line["Events"][0];
    assert_eq!(ev["Topic"], "ACLToken", "{line}");
    assert_eq!(ev["Type"], "ACLTokenUpserted", "{line}");
    assert_eq!(ev["Payload"]["ACLToken"]["Type"], "management", "{line}");
    assert_eq!(ev["Payload"]["ACLToken"]["SecretID"], "", "{line}");
    assert!(!line.to_string().contains(&mgmt), "a secret in {line}");
    let line = first_events(&agent, "topic=ACLPolicy&index=0", &mgmt);
    assert_eq!(line["Events"][0]["Type"], "ACLPolicyUpserted", "{line}");
    assert_eq!(line["Events"][0]["Key"], "readonly", "{line}");

    let line = first_events(&agent, "topic=ACLToken&topic=Job&index=0", &reader);
    let topics: Vec<&str> = line["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Topic"].as_str().unwrap())
        .collect();
    assert!(topics.iter().all(|t| *t == "Job"), "{line}");
}

#[test]
fn scheduler_configuration_needs_operator_rights_and_rejecting_spares_management() {
    let agent = acl_agent("acl-schedcfg");
    let mgmt = bootstrap(&agent);
    let path = "/v1/operator/scheduler/configuration";
    let (status, _) = call(&agent, "GET", path, None, None);
    assert_eq!(status, 403, "anonymous callers have no operator rights");
    let rules =
        "operator {\n  policy = \"read\"\n}\nnamespace \"default\" {\n  policy = \"write\"\n}\n";
    let reader = reader_token(&agent, &mgmt, rules);
    let (status, body) = call(&agent, "GET", path, Some(&reader), None);
    assert_eq!(status, 200, "operator:read reads: {body}");
    let mut config = json_of(&body)["SchedulerConfig"].clone();
    config["RejectJobRegistration"] = json!(true);
    let (status, _) = call(&agent, "PUT", path, Some(&reader), Some(config.clone()));
    assert_eq!(status, 403, "writing needs operator:write");
    let (status, body) = call(&agent, "PUT", path, Some(&mgmt), Some(config));
    assert_eq!(status, 200, "{body}");
    // A token that may submit jobs is refused while registration is rejected; a
    // management token still registers (Nomad's rule).
    let job = sleep_job("shed", "default");
    let (status, body) = call(&agent, "PUT", "/v1/jobs", Some(&reader), Some(job.clone()));
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("disabled by the scheduler configuration"),
        "{body}"
    );
    let (status, body) = call(&agent, "PUT", "/v1/jobs", Some(&mgmt), Some(job));
    assert_eq!(status, 200, "{body}");
}
