//! Mutual TLS and the cluster secret on real agents: certificates made by `orch tls`,
//! a three-server cluster and a client over TLS, the CLI and python-nomad with
//! certificates, refusals at the handshake and at the Raft routes, and the cluster
//! secret keeping non-members out. Helpers: `common::tls`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::tls::*;
use common::*;
use orch_daemon::tls::ClientTlsOptions;

/// `orch agent` arguments for server or client `name` with its data in `dir/<name>`.
fn agent_args(dir: &Path, name: &str, role: &[&str], config: &str) -> Vec<String> {
    let mut args: Vec<String> = role.iter().map(|s| s.to_string()).collect();
    let data = dir.join(name).to_str().unwrap().to_string();
    args.extend(["-data-dir".into(), data, "-node".into(), name.into()]);
    args.extend(["-config".into(), config.into()]);
    args
}

fn start_args(dir: &Path, args: &[String]) -> Agent {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    start(dir, &refs)
}

#[test]
fn a_tls_cluster_forms_runs_work_and_refuses_outsiders() {
    let dir = temp_dir("tls-cluster");
    let pki = Pki::make(&dir.join("pki"));
    let other = Pki::make(&dir.join("other-ca"));
    let server_cfg = pki.agent_config("server");
    let cli_opts = pki.caller("cli");
    let boot = ["-server", "-bootstrap-expect", "1"];
    let a = start_args(&dir, &agent_args(&dir, "a", &boot, &server_cfg));
    assert!(a.http.starts_with("https://"), "{}", a.http);
    wait_tls_cluster(&cli_opts, &[&a], 1);
    let join = ["-server", "-retry-join", a.serf.as_str()];
    let b = start_args(&dir, &agent_args(&dir, "b", &join, &server_cfg));
    let c = start_args(&dir, &agent_args(&dir, "c", &join, &server_cfg));
    wait_tls_cluster(&cli_opts, &[&a, &b, &c], 3);

    https_port_refuses_outsiders(&pki, &other, &a);
    rpc_port_is_for_members(&pki, &a);
    let client_cfg = pki.agent_config("client");
    let client = start_args(
        &dir,
        &agent_args(
            &dir,
            "tls-client",
            &["-client", "-servers", &b.rpc],
            &client_cfg,
        ),
    );
    a_client_runs_a_task_over_tls(&dir, &pki, [&a, &b, &c], &client);
    cli_variants(&pki, &a);
    python_nomad_over_tls(&pki, &a);
    let _ = std::fs::remove_dir_all(dir);
}

/// Refused at the HTTPS handshake: plain HTTP, no certificate, another CA's certificate.
fn https_port_refuses_outsiders(pki: &Pki, other: &Pki, a: &Agent) {
    let plain = a.http.replace("https://", "http://");
    let nothing = ClientTlsOptions::default();
    let refused = call(
        &nothing,
        "GET",
        &format!("{plain}/v1/status/leader"),
        None,
        &[],
    );
    assert!(
        !matches!(refused, Ok((200, _))),
        "plain HTTP answered: {refused:?}"
    );
    let no_cert = ClientTlsOptions {
        ca_cert: Some(pki.ca().into()),
        ..ClientTlsOptions::default()
    };
    let leader_url = format!("{}/v1/status/leader", a.http);
    let r = call(&no_cert, "GET", &leader_url, None, &[]);
    assert!(r.is_err(), "no client certificate was accepted: {r:?}");
    let mut foreign = other.caller("cli");
    foreign.ca_cert = Some(pki.ca().into());
    let r = call(&foreign, "GET", &leader_url, None, &[]);
    assert!(r.is_err(), "another CA's certificate was accepted: {r:?}");
    assert!(call(&pki.caller("cli"), "GET", &leader_url, None, &[]).is_ok());
}

/// The RPC port: mutual TLS, Raft routes for server certificates only, no /v1 API.
fn rpc_port_is_for_members(pki: &Pki, a: &Agent) {
    let rpc = |path: &str| format!("https://{}{path}", a.rpc);
    let plain = format!("http://{}/raft/health", a.rpc);
    let r = call(&ClientTlsOptions::default(), "GET", &plain, None, &[]);
    assert!(
        !matches!(r, Ok((200, _))),
        "plain HTTP on the RPC port: {r:?}"
    );
    let vote = |role: &str| {
        call(
            &pki.caller(role),
            "POST",
            &rpc("/raft/vote"),
            Some(vec![0]),
            &[],
        )
    };
    for role in ["client", "cli"] {
        let (status, body) = vote(role).unwrap();
        assert_eq!(
            status, 403,
            "a {role} certificate called /raft/vote: {body}"
        );
        assert!(body.contains("server.global.nomad"), "{body}");
    }
    let (status, body) = vote("server").unwrap();
    assert_eq!(
        status, 400,
        "a server certificate reaches the handler: {body}"
    );
    let (status, body) = call(&pki.caller("server"), "GET", &rpc("/v1/jobs"), None, &[]).unwrap();
    assert_eq!(status, 404, "/v1/jobs on the RPC port: {body}");
}

/// A client agent joined over TLS (RPC port) runs a job submitted with the CLI through
/// a follower; its log comes back through a server; the client agent itself answers
/// `job status` by finding a server's HTTPS API.
fn a_client_runs_a_task_over_tls(dir: &Path, pki: &Pki, [a, b, c]: [&Agent; 3], client: &Agent) {
    let cli_opts = pki.caller("cli");
    wait_for(Duration::from_secs(60), "the client node ready", || {
        let nodes = get_json(&cli_opts, &format!("{}/v1/nodes", a.http))?;
        nodes
            .as_array()?
            .iter()
            .any(|n| n["Name"] == "tls-client" && n["Status"] == "ready")
            .then_some(())
    });
    let out = cli(&c.http, pki, &["node", "status"]);
    assert!(
        out.status.success() && text(&out).contains("tls-client"),
        "{}",
        text(&out)
    );
    let job_file = dir.join("tlsjob.nomad.hcl");
    std::fs::write(&job_file, SLEEP_JOB).unwrap();
    let out = cli(
        &b.http,
        pki,
        &["job", "run", "-detach", job_file.to_str().unwrap()],
    );
    assert!(out.status.success(), "job run over TLS: {}", text(&out));
    let alloc = wait_for(Duration::from_secs(60), "the TLS job running", || {
        let allocs = get_json(&cli_opts, &format!("{}/v1/job/tlsjob/allocations", c.http))?;
        allocs
            .as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == "running")
            .and_then(|a| a["ID"].as_str().map(str::to_string))
    });
    // A server forwards /v1/client/fs to the client agent's HTTPS API.
    wait_for(
        Duration::from_secs(30),
        "the task's log through a server",
        || {
            let out = cli(&a.http, pki, &["alloc", "logs", &alloc, "t"]);
            text(&out).contains("tls-hello").then_some(())
        },
    );
    let out = cli(&client.http, pki, &["job", "status", "tlsjob"]);
    assert!(
        out.status.success() && text(&out).contains("running"),
        "job status through the client agent: {}",
        text(&out)
    );
}

/// `-tls-server-name`.
fn cli_variants(pki: &Pki, agent: &Agent) {
    let (cert, key) = pki.cert("cli");
    let orch = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_orch"));
        c.env_remove("ORCH_ADDR");
        c
    };
    let out = orch()
        .args(["node", "status"])
        .env("NOMAD_ADDR", &agent.http)
        .env("NOMAD_CACERT", pki.ca())
        .env("NOMAD_CLIENT_CERT", &cert)
        .env("NOMAD_CLIENT_KEY", &key)
        .output()
        .unwrap();
    assert!(out.status.success(), "NOMAD_* variables: {}", text(&out));
    let out = orch()
        .args([
            "-address",
            &agent.http,
            "-tls-skip-verify",
            "-client-cert",
            &cert,
        ])
        .args(["-client-key", &key, "node", "status"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hoisted -tls-skip-verify: {}",
        text(&out)
    );
    let by_name = |name: &str| {
        orch()
            .args([
                "node",
                "status",
                "-address",
                &agent.http,
                "-ca-cert",
                &pki.ca(),
            ])
            .args([
                "-client-cert",
                &cert,
                "-client-key",
                &key,
                "-tls-server-name",
                name,
            ])
            .output()
            .unwrap()
    };
    let out = by_name("server.global.nomad");
    assert!(out.status.success(), "-tls-server-name: {}", text(&out));
    let out = by_name("server.elsewhere.nomad");
    assert!(
        !out.status.success(),
        "a wrong -tls-server-name was accepted"
    );
    let out = orch()
        .args([
            "node",
            "status",
            "-address",
            &agent.http,
            "-ca-cert",
            &pki.ca(),
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the CLI without a certificate was accepted"
    );
}

/// python-nomad with `secure`, `verify` and `cert` talks to the HTTPS API; without a
/// certificate it is refused.
fn python_nomad_over_tls(pki: &Pki, agent: &Agent) {
    let python = venv_python();
    let addr = agent.http.trim_start_matches("https://");
    let (host, port) = addr.rsplit_once(':').unwrap();
    let (cert, key) = pki.cert("cli");
    let script = r#"
import sys, nomad
host, port, ca, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
n = nomad.Nomad(host=host, port=port, secure=True, verify=ca, cert=(cert, key), timeout=10)
assert n.status.leader.get_leader() != ""
assert "tlsjob" in [j["ID"] for j in n.jobs.get_jobs()]
print("ok tls")
try:
    nomad.Nomad(host=host, port=port, secure=True, verify=ca, timeout=10).status.leader.get_leader()
    print("FAILED: no certificate was accepted")
    sys.exit(1)
except Exception as e:
    print("ok refused", type(e).__name__)
"#;
    let out = Command::new(&python)
        .args(["-c", script, host, port, &pki.ca(), &cert, &key])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        out.status.success() && t.contains("ok tls") && t.contains("ok refused"),
        "python-nomad over TLS:\n{t}"
    );
}

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=";

/// An agent process that may never finish starting (a refused join blocks start-up),
/// its stderr in `log`.
fn spawn_logged(dir: &Path, args: &[&str], log: &Path) -> std::process::Child {
    let ports = dir.join("ports-logged.hcl");
    std::fs::write(&ports, "ports {\n  http = 0\n  rpc = 0\n  serf = 0\n}\n").unwrap();
    Command::new(env!("CARGO_BIN_EXE_orch"))
        .args([
            "agent",
            "-config",
            ports.to_str().unwrap(),
            "-bind",
            "127.0.0.1",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

#[test]
fn the_cluster_secret_admits_members_and_refuses_others() {
    let dir = temp_dir("tls-secret");
    let cfg = dir.join("secret.hcl");
    std::fs::write(&cfg, format!("server {{\n  encrypt = \"{SECRET}\"\n}}\n")).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let data = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let (da, db) = (data("a"), data("b"));
    let a = start(
        &dir,
        &[
            "-server",
            "-bootstrap-expect",
            "1",
            "-data-dir",
            &da,
            "-node",
            "a",
            "-config",
            &cfg,
        ],
    );
    wait_leader(&a);
    let b = start(
        &dir,
        &[
            "-server",
            "-retry-join",
            &a.serf,
            "-data-dir",
            &db,
            "-node",
            "b",
            "-config",
            &cfg,
        ],
    );
    let agents = [a, b];
    wait_one_leader(&agents, 2);
    let a = &agents[0];
    peer_calls_need_the_secret(a);
    a_keyless_server_cannot_join(&dir, a);
    drop(agents);
    let _ = std::fs::remove_dir_all(dir);
}

/// Raft, join and `/serf/id` calls without the secret (or with another) get 403; with
/// it they reach the handlers. The RPC port keeps only the clients' endpoints of `/v1`.
fn peer_calls_need_the_secret(a: &Agent) {
    let nothing = ClientTlsOptions::default();
    let with_secret = [("x-orch-cluster-secret", SECRET)];
    let wrong_secret = [("x-orch-cluster-secret", "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmc=")];
    let json = [("content-type", "application/json")];
    let vote = format!("http://{}/raft/vote", a.rpc);

    // Raft and join calls without the secret (or with another) are refused with 403.
    for headers in [&[][..], &wrong_secret[..]] {
        let (status, body) = call(&nothing, "POST", &vote, Some(vec![0]), headers).unwrap();
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("server.encrypt"), "{body}");
    }
    let join = br#"{"node_id": 7, "addr": "127.0.0.1:1"}"#.to_vec();
    for url in [
        format!("http://{}/raft/join", a.rpc),
        format!("http://{}/raft/join", a.serf),
    ] {
        let (status, body) = call(&nothing, "POST", &url, Some(join.clone()), &json).unwrap();
        assert_eq!(status, 403, "{url}: {body}");
    }
    let (status, _) = call(
        &nothing,
        "GET",
        &format!("http://{}/serf/id", a.serf),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(status, 403, "/serf/id without the secret");
    // With it, the call reaches the handler (which refuses the bogus body).
    let (status, body) = call(&nothing, "POST", &vote, Some(vec![0]), &with_secret).unwrap();
    assert_eq!(status, 400, "{body}");
    // The RPC port no longer serves the HTTP API; the clients' endpoints stay.
    let (status, body) = call(
        &nothing,
        "GET",
        &format!("http://{}/v1/jobs", a.rpc),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(status, 404, "/v1/jobs on the RPC port: {body}");
    let (status, _) = call(
        &nothing,
        "GET",
        &format!("http://{}/v1/service/none", a.rpc),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(status, 200, "a client endpoint on the RPC port");
}

/// A server without the key cannot join: its log says why; the cluster keeps two voters.
fn a_keyless_server_cannot_join(dir: &Path, a: &Agent) {
    let dc = dir.join("c").to_str().unwrap().to_string();
    let log = dir.join("c.log");
    let mut c = spawn_logged(
        dir,
        &[
            "-server",
            "-retry-join",
            &a.serf,
            "-data-dir",
            &dc,
            "-node",
            "c",
        ],
        &log,
    );
    let line = wait_for(
        Duration::from_secs(60),
        "the keyless server's refused join",
        || {
            let t = std::fs::read_to_string(&log).ok()?;
            t.lines()
                .find(|l| l.contains("join refused") && l.contains("HTTP 403"))
                .map(str::to_string)
        },
    );
    assert!(line.contains("server.encrypt"), "{line}");
    let (_, peers) = get(a, "/v1/status/peers");
    assert_eq!(peers.as_array().map(Vec::len), Some(2), "{peers}");
    let _ = c.kill();
    let _ = c.wait();
}

/// `orch agent` with a broken `tls` block or key stops at once, naming the setting.
#[test]
fn wrong_tls_settings_are_refused_by_name() {
    let dir = temp_dir("tls-config");
    let pki = Pki::make(&dir.join("pki"));
    let (cert, key) = pki.cert("server");
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let not_pem = not_pem.to_str().unwrap();
    let ca = pki.ca();
    let cases: Vec<(String, &str)> = vec![
        (
            "tls {\n  http = true\n}\n".into(),
            "tls.ca_file is required",
        ),
        (
            format!("tls {{\n  http = true\n  ca_file = \"{ca}\"\n  key_file = \"{key}\"\n}}\n"),
            "tls.cert_file is required",
        ),
        (
            format!(
                "tls {{\n  rpc = true\n  ca_file = \"/nonexistent/ca.pem\"\n  cert_file = \"{cert}\"\n  key_file = \"{key}\"\n}}\n"
            ),
            "tls.ca_file: cannot read /nonexistent/ca.pem",
        ),
        (
            format!(
                "tls {{\n  rpc = true\n  ca_file = \"{ca}\"\n  cert_file = \"{not_pem}\"\n  key_file = \"{key}\"\n}}\n"
            ),
            "tls.cert_file:",
        ),
        (
            format!(
                "tls {{\n  rpc = true\n  ca_file = \"{ca}\"\n  cert_file = \"{cert}\"\n  key_file = \"{not_pem}\"\n}}\n"
            ),
            "tls.key_file:",
        ),
        (
            "tls {\n  tls_min_version = \"tls11\"\n}\n".into(),
            "TLS 1.2 and 1.3 only",
        ),
        (
            "tls {\n  tls_cipher_suites = \"TLS_RSA_WITH_RC4_128_SHA\"\n}\n".into(),
            "tls_cipher_suites: \"TLS_RSA_WITH_RC4_128_SHA\" is not supported",
        ),
        (
            "tls {\n  rpc_upgrade_mode = true\n}\n".into(),
            "needs tls.rpc",
        ),
        (
            "tls {\n  verify_outgoing = true\n}\n".into(),
            "unknown field",
        ),
        (
            "tls {\n  verify_https_client = true\n}\n".into(),
            "needs tls.http",
        ),
        (
            "server {\n  encrypt = \"not base64!\"\n}\n".into(),
            "server.encrypt",
        ),
    ];
    for (i, (config, expected)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad-{i}.hcl"));
        std::fs::write(&path, config).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_orch"))
            .args(["agent", "-dev", "-config", path.to_str().unwrap()])
            .output()
            .unwrap();
        let t = text(&out);
        assert!(!out.status.success(), "accepted:\n{config}");
        assert!(
            t.contains(expected),
            "{config}: expected {expected:?} in\n{t}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The SHA-256 fingerprint of the certificate `addr` presents, through openssl with
/// `version` (`-tls1_2`, `-tls1_3`); `None` when the handshake fails.
fn presented_fingerprint(addr: &str, version: &str) -> Option<String> {
    let script = format!(
        "openssl s_client -connect {addr} {version} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"
    );
    let out = Command::new("sh").args(["-c", &script]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    text.contains("Fingerprint").then_some(text)
}

/// `tls_min_version`, `rpc_upgrade_mode` and SIGHUP on a real server: TLS 1.2 is refused
/// under `tls13`, a plain caller reaches the RPC port in upgrade mode, and a rotated
/// certificate is presented after SIGHUP while the agent keeps running.
#[test]
fn tls_min_version_upgrade_mode_and_certificate_reload_on_sighup() {
    let dir = temp_dir("tls-reload");
    let pki = Pki::make(&dir.join("pki"));
    let (cert, key) = pki.cert("server");
    let live_cert = dir.join("live.pem");
    let live_key = dir.join("live-key.pem");
    std::fs::copy(&cert, &live_cert).unwrap();
    std::fs::copy(&key, &live_key).unwrap();
    let config = dir.join("tls.hcl");
    std::fs::write(
        &config,
        format!(
            "tls {{\n  http = true\n  rpc = true\n  ca_file = \"{}\"\n  cert_file = \"{}\"\n  key_file = \"{}\"\n  verify_server_hostname = true\n  tls_min_version = \"tls13\"\n  rpc_upgrade_mode = true\n}}\n",
            pki.ca(),
            live_cert.display(),
            live_key.display()
        ),
    )
    .unwrap();
    let args = agent_args(
        &dir,
        "a",
        &["-server", "-bootstrap-expect", "1"],
        config.to_str().unwrap(),
    );
    let mut a = start_args(&dir, &args);
    wait_tls_cluster(&pki.caller("cli"), &[&a], 1);
    let https = a.http.trim_start_matches("https://").to_string();

    let before = presented_fingerprint(&https, "-tls1_3").expect("a TLS 1.3 handshake");
    assert_eq!(
        presented_fingerprint(&https, "-tls1_2"),
        None,
        "TLS 1.2 accepted"
    );

    // Upgrade mode: the RPC port answers a plain caller (and TLS ones, as before).
    let plain = format!("http://{}/raft/health", a.rpc);
    let r = call(&ClientTlsOptions::default(), "GET", &plain, None, &[]);
    assert!(
        matches!(r, Ok((200, _))),
        "plain call in upgrade mode: {r:?}"
    );
    let tls_health = format!("https://{}/raft/health", a.rpc);
    assert!(matches!(
        call(&pki.caller("server"), "GET", &tls_health, None, &[]),
        Ok((200, _))
    ));

    // A new certificate from the same CA, written over the live files, then SIGHUP.
    let next = dir.join("next");
    std::fs::create_dir_all(&next).unwrap();
    for f in ["nomad-agent-ca.pem", "nomad-agent-ca-key.pem"] {
        std::fs::copy(pki.file(f), next.join(f)).unwrap();
    }
    let out = orch_in(&next, &["tls", "cert", "create", "-server"]);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::copy(next.join("global-server-nomad.pem"), &live_cert).unwrap();
    std::fs::copy(next.join("global-server-nomad-key.pem"), &live_key).unwrap();
    let pid = a.child.id() as i32;
    // SAFETY: kill(2) on the agent this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    let after = wait_for(
        Duration::from_secs(30),
        "the new certificate after SIGHUP",
        || presented_fingerprint(&https, "-tls1_3").filter(|f| *f != before),
    );
    assert_ne!(after, before);
    assert!(
        a.child.try_wait().unwrap().is_none(),
        "SIGHUP ended the agent"
    );
    assert!(
        call(
            &pki.caller("cli"),
            "GET",
            &format!("{}/v1/status/leader", a.http),
            None,
            &[]
        )
        .is_ok()
    );
    let _ = std::fs::remove_dir_all(dir);
}
