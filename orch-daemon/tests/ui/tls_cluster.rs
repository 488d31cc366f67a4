//! What the ACL-over-TLS and documentation tests start: a dev agent with ACLs and
//! TLS, a caller over TLS, three small clients for the topology screenshot.

use super::*;

/// A dev agent with ACLs on and its HTTP API over TLS (a server certificate of a fresh
/// CA; no client certificates asked), its leader elected; and a caller's TLS options.
pub(super) fn tls_acl_agent(dir: &std::path::Path) -> (Agent, orch_daemon::tls::ClientTlsOptions) {
    let pki = common::tls::Pki::make(&dir.join("pki"));
    let (cert, key) = pki.cert("server");
    let config = dir.join("acl-tls.hcl");
    std::fs::write(
        &config,
        format!(
            "acl {{\n  enabled = true\n}}\ntls {{\n  http = true\n  ca_file = \"{}\"\n  cert_file = \"{cert}\"\n  key_file = \"{key}\"\n}}\n",
            pki.ca()
        ),
    )
    .unwrap();
    let agent = start(dir, &["-dev", "-config", config.to_str().unwrap()]);
    assert!(agent.http.starts_with("https://"), "{}", agent.http);
    let tls = pki.caller("cli");
    wait_for(Duration::from_secs(30), "a leader", || {
        common::tls::get_json(&tls, &format!("{}/v1/status/leader", agent.http))
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
    });
    (agent, tls)
}

/// One call to the TLS agent, with an ACL token if given: status and body.
pub(super) fn tls_call(
    agent: &Agent,
    tls: &orch_daemon::tls::ClientTlsOptions,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> (u16, String) {
    let headers: Vec<(&str, &str)> = token.map(|t| ("X-Nomad-Token", t)).into_iter().collect();
    let url = format!("{}{path}", agent.http);
    common::tls::call(
        tls,
        method,
        &url,
        Some(body.to_string().into_bytes()),
        &headers,
    )
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// Three client-only agents of 2000 MHz and 2 GiB (200 MHz and 256 MiB reserved) on
/// `server`, ready.
pub(super) fn three_small_clients(dir: &std::path::Path, server: &Agent) -> Vec<Agent> {
    let limits = dir.join("limits.hcl");
    std::fs::write(
        &limits,
        "client {\n  cpu_total_compute = 2000\n  memory_total_mb = 2048\n  reserved {\n    cpu = 200\n    memory = 256\n  }\n}\n",
    )
    .unwrap();
    let clients: Vec<Agent> = (1..=3)
        .map(|i| {
            let name = format!("client-{i}");
            let data = dir.join(&name);
            let (data, limits) = (data.to_str().unwrap(), limits.to_str().unwrap());
            let args = ["-client", "-servers", &server.rpc, "-data-dir", data];
            start(
                dir,
                &[&args[..], &["-node", &name, "-config", limits]].concat(),
            )
        })
        .collect();
    wait_for(Duration::from_secs(60), "three ready clients", || {
        let (_, nodes) = common::get(server, "/v1/nodes");
        let ready = nodes
            .as_array()
            .map_or(0, |n| n.iter().filter(|n| n["Status"] == "ready").count());
        (ready == 3).then_some(())
    });
    clients
}

/// Stops `jobs` and waits until none of their allocations runs.
pub(super) fn stop_jobs(server: &Agent, jobs: &[&str]) {
    for job in jobs {
        let (code, body) = send(server, "DELETE", &format!("/v1/job/{job}"), json!({}));
        assert_eq!(code, 200, "stop {job}: {body}");
    }
    wait_for(Duration::from_secs(60), "every task stopped", || {
        let live = jobs
            .iter()
            .flat_map(|j| common::job_allocs(server, j))
            .filter(|a| a["ClientStatus"] == "running" || a["ClientStatus"] == "pending")
            .count();
        (live == 0).then_some(())
    });
}
