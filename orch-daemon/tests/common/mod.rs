//! Starting real `orch` agents for integration tests, on ports the OS picks.
#![allow(dead_code)]

pub mod metrics;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

impl Agent {
    /// A handle on an agent started elsewhere, for read-only probing from another thread.
    pub fn remote(http: &str) -> RemoteAgent {
        RemoteAgent {
            http: http.to_string(),
        }
    }
}

/// An agent reachable over HTTP that this handle does not own.
pub struct RemoteAgent {
    pub http: String,
}

/// Anything with an HTTP address.
pub trait HasHttp {
    fn http(&self) -> &str;
}

impl HasHttp for Agent {
    fn http(&self) -> &str {
        &self.http
    }
}

impl HasHttp for RemoteAgent {
    fn http(&self) -> &str {
        &self.http
    }
}

/// Starts an agent on a thread and hands back a join handle for it, for agents that print
/// their addresses only after others have started.
pub fn start_background(dir: &Path, extra: &[&str]) -> std::thread::JoinHandle<Agent> {
    let dir = dir.to_path_buf();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    std::thread::spawn(move || {
        let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
        start(&dir, &refs)
    })
}

/// A running agent; killed when dropped.
pub struct Agent {
    pub child: Child,
    pub http: String,
    pub rpc: String,
    pub serf: String,
}

impl Drop for Agent {
    /// SIGTERM first, so a dev agent stops its tasks, then SIGKILL after 10 s.
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: kill has no memory preconditions; the pid is our (unreaped) child's.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// Kills the agent at once (SIGKILL), as a crash would.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "orch-it-{}-{name}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts `orch agent` with every port chosen by the OS and waits for its HTTP address.
pub fn start(dir: &Path, extra: &[&str]) -> Agent {
    start_env(dir, extra, &[])
}

/// [`start`] with extra environment variables for the agent (a `PATH` with a fake
/// tool first).
pub fn start_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Agent {
    // One file per agent: agents started in parallel must not read each other's writes.
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let config = dir.join(format!("ports-{n}.hcl"));
    // raw_exec is off unless configured (as in Nomad); the tests' jobs use it.
    std::fs::write(
        &config,
        "ports {\n  http = 0\n  rpc = 0\n  serf = 0\n}\nplugin \"raw_exec\" {\n  config {\n    enabled = true\n  }\n}\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("agent")
        .args([
            "-config",
            config.to_str().unwrap(),
            "-bind",
            "127.0.0.1",
            "-node",
            "it-node",
        ])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start orch");
    let out = child.stdout.take().unwrap();
    let started = watchdog(child.id(), STARTUP_LIMIT);
    let mut lines = BufReader::new(out).lines();
    let (mut http, mut rpc, mut serf) = (None, None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("HTTP API:") {
            http = Some(addr.trim().to_string());
        } else if let Some(addr) = line.strip_prefix("Raft RPC:") {
            rpc = Some(addr.trim().to_string());
        } else if let Some(addr) = line.strip_prefix("Serf:") {
            serf = Some(addr.trim().to_string());
        } else if line.starts_with("Data dir:") {
            break;
        }
    }
    started.store(true, std::sync::atomic::Ordering::Relaxed);
    std::thread::spawn(move || for _ in lines {});
    Agent {
        child,
        http: http.unwrap_or_else(|| {
            panic!("the agent did not print its HTTP address within {STARTUP_LIMIT:?} (killed)")
        }),
        // Client-only agents have neither.
        rpc: rpc.unwrap_or_default(),
        serf: serf.unwrap_or_default(),
    }
}

/// How long an agent may take to print its addresses before the test gives up on it.
pub const STARTUP_LIMIT: Duration = Duration::from_secs(90);

/// Kills `pid` unless the returned flag is set within `limit`, so an agent that never
/// finishes starting fails its test instead of hanging it.
fn watchdog(pid: u32, limit: Duration) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = started.clone();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if flag.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: kill has no memory preconditions; at worst the pid is already reaped.
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
    });
    started
}

/// The leader's RPC address as `agent` reports it, `None` when it knows none.
pub fn leader_rpc(agent: &impl HasHttp) -> Option<String> {
    let (code, v) = get(agent, "/v1/status/leader");
    (code == 200)
        .then(|| v.as_str().map(str::to_string))
        .flatten()
        .filter(|s| !s.is_empty())
}

/// Waits until `agents` agree on one leader and it has `voters` voters.
/// Sets the cluster's autopilot `ServerStabilizationTime` (how long a joined server
/// must be healthy before it votes), keeping the rest of the configuration. With ACLs on
/// and no token yet (403) the default stays: the servers then vote after 10 s.
pub fn set_stabilization_time(agent: &Agent, time: &str) {
    let (code, mut config) = get(agent, "/v1/operator/autopilot/configuration");
    if code == 403 {
        return;
    }
    assert_eq!(code, 200, "{config}");
    config["ServerStabilizationTime"] = time.into();
    let (code, body) = send(agent, "PUT", "/v1/operator/autopilot/configuration", config);
    assert_eq!(code, 200, "{body}");
}

pub fn wait_one_leader(agents: &[Agent], voters: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, peers) = get(&agents[0], "/v1/status/peers");
        let leaders: Vec<Option<String>> = agents.iter().map(leader_rpc).collect();
        if peers.as_array().is_some_and(|p| p.len() == voters)
            && leaders.iter().all(|l| l.is_some() && *l == leaders[0])
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no single {voters}-voter cluster: peers {peers}, leaders {leaders:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Three servers: `a` bootstraps, `b` and `c` join it through its serf port. Each
/// `extra` argument list is appended to that server's command line. Joined servers
/// vote once autopilot promotes them; `ServerStabilizationTime` is set to 1 s first so
/// tests do not wait Nomad's default 10 s (tests/autopilot.rs checks the default).
pub fn three_servers(dir: &Path, extra: [&[&str]; 3]) -> Vec<Agent> {
    let data = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let mut a_args = vec!["-server", "-bootstrap-expect", "1"];
    let a_data = data("a");
    a_args.extend(["-data-dir", &a_data, "-node", "a"]);
    a_args.extend(extra[0]);
    let a = start(dir, &a_args);
    wait_leader(&a);
    set_stabilization_time(&a, "1s");
    let serf = a.serf.clone();
    let mut agents = vec![a];
    for (name, more) in [("b", extra[1]), ("c", extra[2])] {
        let d = data(name);
        let mut args = vec![
            "-server",
            "-retry-join",
            &serf,
            "-data-dir",
            &d,
            "-node",
            name,
        ];
        args.extend(more);
        agents.push(start(dir, &args));
    }
    wait_one_leader(&agents, 3);
    agents
}

pub fn get(agent: &impl HasHttp, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = get_bytes(agent, path);
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// Status and raw body of a GET.
pub fn get_bytes(agent: &impl HasHttp, path: &str) -> (u16, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = orch_daemon::tls::http_client()
            .get(format!("{}{path}", agent.http()))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    })
}

pub fn send(agent: &Agent, method: &str, path: &str, body: serde_json::Value) -> (u16, String) {
    send_token(agent, method, path, "", body)
}

/// [`send`] with an ACL token in `X-Nomad-Token` (none when empty).
pub fn send_token(
    agent: &impl HasHttp,
    method: &str,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = orch_daemon::tls::http_client();
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = client.request(m, format!("{}{path}", agent.http()));
        if !token.is_empty() {
            req = req.header("X-Nomad-Token", token);
        }
        let r = req.json(&body).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

pub fn wait_leader(agent: &Agent) {
    for _ in 0..100 {
        if get(agent, "/v1/status/leader").0 == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no leader");
}

pub fn example_job() -> serde_json::Value {
    let hcl = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/web.nomad.hcl"),
    )
    .unwrap();
    let job = orch_parse(&hcl);
    serde_json::json!({ "Job": job })
}

pub fn orch_parse(hcl: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["job", "run", "-output", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(hcl.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["Job"].clone()
}

/// Runs the `orch` CLI against `agent` (through `ORCH_ADDR`) and returns its output.
pub fn orch_cli(agent: &impl HasHttp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(args)
        .env("ORCH_ADDR", agent.http())
        .output()
        .unwrap()
}

/// Runs the `orch` CLI against `agent` with the ACL token `secret` in `NOMAD_TOKEN`
/// (as a Nomad user sets it), no `ORCH_TOKEN` set.
pub fn orch_cli_token(agent: &impl HasHttp, secret: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(args)
        .env("ORCH_ADDR", agent.http())
        .env("NOMAD_TOKEN", secret)
        .env_remove("ORCH_TOKEN")
        .output()
        .unwrap()
}

/// The `Key = value` lines of CLI output, as pairs (Nomad's `formatKV` layout).
pub fn cli_kv(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Polls `f` every 100 ms until it returns `Some`, or panics after `timeout` with `what`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// GET returning the raw body text.
pub fn get_text(agent: &impl HasHttp, path: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = orch_daemon::tls::http_client()
            .get(format!("{}{path}", agent.http()))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    })
}

/// Registers an HCL jobspec through the API; panics unless accepted.
pub fn run_hcl(agent: &Agent, hcl: &str) {
    let job = orch_parse(hcl);
    let (status, body) = send(agent, "PUT", "/v1/jobs", serde_json::json!({ "Job": job }));
    assert_eq!(status, 200, "register failed: {body}");
}

/// The allocations of a job.
pub fn job_allocs(agent: &impl HasHttp, job: &str) -> Vec<serde_json::Value> {
    let (_, v) = get(agent, &format!("/v1/job/{job}/allocations"));
    v.as_array().cloned().unwrap_or_default()
}

/// A loopback port that is free now, for agents that must come back on the same address
/// or be named before they start. Picked below the kernel's ephemeral range (where
/// every `port 0` listener of the parallel tests lands), so another test cannot be
/// handed the same port between this check and the agent's bind.
pub fn free_port() -> u16 {
    // Never the same port twice in one test binary: a test that stops an agent and
    // starts it again on its fixed ports leaves them free meanwhile, and another test
    // must not be handed them then.
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seed = std::process::id()
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1000 {
        let n = NEXT.fetch_add(7919, std::sync::atomic::Ordering::Relaxed);
        // 10000..19999: below both the ephemeral range and orch's dynamic task ports.
        let port = 10_000 + (seed.wrapping_add(n) % 10_000) as u16;
        if !given.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free loopback port in 10000..19999");
}

/// A single server (no client) with its state in `dir/<name>`, leader elected.
pub fn start_server(dir: &Path, name: &str) -> Agent {
    start_server_with(dir, &dir.join(name), &[])
}

/// A single server with its state in `data` and `extra` arguments (`-config` files),
/// once it leads.
pub fn start_server_with(dir: &Path, data: &Path, extra: &[&str]) -> Agent {
    let mut args = vec![
        "-server",
        "-bootstrap-expect",
        "1",
        "-data-dir",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let agent = start(dir, &args);
    wait_leader(&agent);
    agent
}

/// A client-only agent joined to `server` (its RPC port), state in `dir/<name>`.
pub fn start_client(dir: &Path, server: &Agent, name: &str) -> Agent {
    let data = dir.join(name);
    start(
        dir,
        &[
            "-client",
            "-servers",
            &server.rpc,
            "-data-dir",
            data.to_str().unwrap(),
        ],
    )
}

pub const PYTHON_NOMAD: &str = "python-nomad==2.1.0";

/// A virtualenv with python-nomad under the target dir, made on first use.
pub fn venv_python() -> std::path::PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-nomad-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "python3 -m venv failed: install Python 3 with venv (Debian: python3-venv)"
        );
    }
    let installed = Command::new(&python)
        .args(["-c", "import nomad"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !installed {
        let ok = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                PYTHON_NOMAD,
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "pip install {PYTHON_NOMAD} failed (needs PyPI)");
    }
    python
}

/// Runs the `orch` binary in `dir` (for `orch tls ...`, which writes to the current
/// directory) and panics unless it succeeds.
pub fn orch_in(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "orch {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A batch job that sleeps 300 s in a raw_exec task, in `namespace`, as `{"Job": ..}`.
pub fn sleep_job(id: &str, namespace: &str) -> serde_json::Value {
    let mut job = orch_parse(&format!(
        r#"job "{id}" {{
  datacenters = ["dc1"]
  type = "batch"
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args = ["-c", "sleep 300"]
      }}
      resources {{
        cpu = 50
        memory = 32
      }}
    }}
  }}
}}"#
    ));
    job["Namespace"] = serde_json::json!(namespace);
    serde_json::json!({ "Job": job })
}

/// The first batch of events of `/v1/event/stream?{query}` (with `token` when not
/// empty), within 30 s.
pub fn first_events(agent: &Agent, query: &str, token: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req =
            orch_daemon::tls::http_client().get(format!("{}/v1/event/stream?{query}", agent.http));
        if !token.is_empty() {
            req = req.header("X-Nomad-Token", token);
        }
        let mut resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let mut buf = Vec::new();
        loop {
            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                let v: serde_json::Value =
                    serde_json::from_slice(&line).unwrap_or(serde_json::Value::Null);
                if v.get("Events").is_some() {
                    return v;
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), resp.chunk())
                .await
                .expect("an event within 30 s")
                .unwrap()
                .expect("stream still open");
            buf.extend_from_slice(&chunk);
        }
    })
}

/// The ID of the first node `agent` lists, waiting up to 90 s for one to register (a
/// dev agent's own client).
pub fn first_node(agent: &impl HasHttp) -> String {
    wait_for(Duration::from_secs(90), "a node to register", || {
        let (_, nodes) = get(agent, "/v1/nodes");
        Some(nodes.as_array()?.first()?["ID"].as_str()?.to_string())
    })
}

/// The first node's schedulable CPU and memory (total minus reserved): what tests that
/// fill a node size their jobs from.
pub fn node_capacity(agent: &impl HasHttp) -> (u64, u64) {
    let id = first_node(agent);
    let (_, n) = get(agent, &format!("/v1/node/{id}"));
    let total = |a: &str, b: &str| n["NodeResources"][a][b].as_u64().unwrap_or(0);
    let reserved = |a: &str, b: &str| n["ReservedResources"][a][b].as_u64().unwrap_or(0);
    (
        total("Cpu", "CpuShares") - reserved("Cpu", "CpuShares"),
        total("Memory", "MemoryMB") - reserved("Memory", "MemoryMB"),
    )
}
