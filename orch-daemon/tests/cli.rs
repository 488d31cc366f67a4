//! The `orch` command line against a real dev agent: every server verb runs the real
//! binary with `ORCH_ADDR` pointing at an agent started on OS-chosen ports.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Agent {
    child: Child,
    http: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "orch-cli-{}-{name}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts a single server without a client (so nothing can be placed and the
/// placement-failure paths show), every port chosen by the OS; waits for its address.
fn start_dev(dir: &Path) -> Agent {
    let config = dir.join("ports.hcl");
    std::fs::write(&config, "ports {\n  http = 0\n  rpc = 0\n  serf = 0\n}\n").unwrap();
    let data = dir.join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["agent", "-server", "-bootstrap-expect", "1", "-data-dir"])
        .arg(&data)
        .args(["-config", config.to_str().unwrap()])
        .args(["-bind", "127.0.0.1", "-node", "cli-node"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start orch");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut http = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(addr) = line.trim().strip_prefix("HTTP API:") {
            http = Some(addr.trim().to_string());
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Agent {
        child,
        http: http.expect("agent printed its HTTP address"),
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `orch args...` with `ORCH_ADDR=addr` (and no `NOMAD_ADDR`).
fn orch(addr: &str, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(args)
        .env("ORCH_ADDR", addr)
        .env_remove("NOMAD_ADDR")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .expect("run orch");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(addr: &str, args: &[&str]) -> String {
    let o = orch(addr, args);
    assert_eq!(
        o.code, 0,
        "orch {args:?} failed:\n{}\n{}",
        o.stdout, o.stderr
    );
    o.stdout
}

fn wait_leader(addr: &str) {
    for _ in 0..100 {
        if orch(addr, &["operator", "raft", "list-peers"])
            .stdout
            .contains("leader")
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no leader");
}

#[test]
fn server_verbs_against_a_dev_agent() {
    let dir = temp_dir("dev");
    let agent = start_dev(&dir);
    let a = agent.http.as_str();
    wait_leader(a);

    // Empty cluster.
    assert!(ok(a, &["job", "status"]).contains("No running jobs"));
    assert!(ok(a, &["node", "status"]).contains("No nodes registered"));

    // Submit without monitoring.
    let run = ok(a, &["job", "run", "-detach", "examples/web.nomad.hcl"]);
    assert!(run.contains("Evaluation ID:"), "{run}");

    let table = ok(a, &["job", "status"]);
    assert!(
        table.contains("ID") && table.contains("Submit Date"),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("web ")), "{table}");

    // Details, by full ID and by prefix.
    let detail = ok(a, &["job", "status", "web"]);
    for want in ["ID            = web", "Summary", "frontend", "Allocations"] {
        assert!(detail.contains(want), "missing {want:?} in:\n{detail}");
    }
    assert!(ok(a, &["job", "status", "we"]).contains("Summary"));
    let missing = orch(a, &["job", "status", "nope"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("No job with prefix or ID"),
        "{}",
        missing.stderr
    );

    // Inspect is valid JSON wrapped in {"Job": ...}; -json on status too (Nomad's
    // JobJson list: Summary, Allocations, LatestDeployment, Evaluations per job).
    let inspect: serde_json::Value =
        serde_json::from_str(&ok(a, &["job", "inspect", "web"])).expect("inspect JSON");
    assert_eq!(inspect["Job"]["ID"], "web");
    let raw: serde_json::Value =
        serde_json::from_str(&ok(a, &["job", "status", "-json"])).expect("status JSON");
    assert_eq!(raw[0]["Summary"]["JobID"], "web");

    assert!(ok(a, &["job", "history", "web"]).contains("Version     = 0"));

    // Plan of a modified copy: allocations would change, so exit 1 as Nomad documents.
    let spec = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/web.nomad.hcl"),
    )
    .unwrap();
    let changed = dir.join("web3.nomad.hcl");
    std::fs::write(&changed, spec.replace("default     = 2", "default     = 3")).unwrap();
    let plan = orch(a, &["job", "plan", changed.to_str().unwrap()]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("+/- Job: \"web\""), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("Task Group: \"frontend\""),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("Scheduler dry-run:"),
        "{}",
        plan.stdout
    );
    // A plan error exits 255.
    assert_eq!(orch(a, &["job", "plan", "/nonexistent.hcl"]).code, 255);

    // Evaluations: the registration's, blocked for lack of nodes.
    let evals = ok(a, &["eval", "list"]);
    assert!(
        evals.contains("job-register") && evals.contains("web"),
        "{evals}"
    );
    let eval_id = evals
        .lines()
        .find(|l| l.contains("job-register"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    // Wait for it (the run was detached), then read its placement failures.
    let waited = orch(a, &["eval", "status", "-monitor", &eval_id]);
    assert_eq!(waited.code, 2, "{}\n{}", waited.stdout, waited.stderr);
    let eval = ok(a, &["eval", "status", &eval_id]);
    assert!(eval.contains("Placement Failures = true"), "{eval}");

    // Monitoring a run: no nodes, so placements fail and the exit code is 2.
    let monitored = orch(a, &["job", "run", changed.to_str().unwrap()]);
    assert_eq!(
        monitored.code, 2,
        "{}\n{}",
        monitored.stdout, monitored.stderr
    );
    for want in [
        "Monitoring evaluation",
        "failed to place all allocations",
        "Task Group \"frontend\" (failed to place 3 allocations)",
        "waiting for additional capacity",
    ] {
        assert!(
            monitored.stdout.contains(want),
            "missing {want:?}:\n{}",
            monitored.stdout
        );
    }
    assert!(ok(a, &["job", "history", "web"]).contains("Version     = 1"));
    // `-p`: each version with its diff from the one before (count 2 → 3).
    let history = ok(a, &["job", "history", "-p", "web"]);
    for want in [
        "Version     = 1",
        "Diff =\n+/- Job: \"web\"\n+/- Task Group: \"frontend\"\n  +/- Count: \"2\" => \"3\"",
        "Version     = 0",
    ] {
        assert!(history.contains(want), "missing {want:?}:\n{history}");
    }
    let one = ok(a, &["job", "history", "-p", "-version=0", "web"]);
    assert!(
        !one.contains("Diff =") && one.contains("Version     = 0"),
        "{one}"
    );
    let detail = ok(a, &["job", "status", "web"]);
    assert!(
        detail.contains("Latest Deployment") && detail.contains("Deployed"),
        "{detail}"
    );
    // A deployment cannot be unblocked (one region: none ever waits for peers); the
    // refusal says why. A server-only agent has no client servers to list.
    let deployment =
        serde_json::from_str::<serde_json::Value>(&ok(a, &["job", "deployments", "-json", "web"]))
            .expect("deployments JSON")[0]["ID"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    let unblock = orch(a, &["deployment", "unblock", &deployment]);
    assert!(
        unblock.code == 1 && unblock.stderr.contains("single region"),
        "{}",
        unblock.stderr
    );
    let servers = orch(a, &["node", "config", "-servers"]);
    assert!(
        servers.code == 1 && servers.stderr.contains("runs no client"),
        "{}",
        servers.stderr
    );
    // The progress deadline in whole seconds, as Nomad (and `deployment status`) print it.
    let deployed = detail.split("Deployed").nth(1).unwrap_or_default();
    let row = deployed.lines().find(|l| l.starts_with("frontend"));
    let deadline = row.and_then(|r| r.split_whitespace().last()).unwrap_or("");
    assert!(
        deadline == "N/A" || (deadline.ends_with('Z') && !deadline.contains('.')),
        "{detail}"
    );

    // Revert to version 0 makes version 2.
    let revert = ok(a, &["job", "revert", "-detach", "web", "0"]);
    assert!(
        !revert.trim().is_empty(),
        "revert printed the evaluation ID"
    );
    assert!(ok(a, &["job", "history", "web"]).contains("Version     = 2"));

    // Prefixes: an exact ID wins, an ambiguous prefix lists the matches.
    let other = dir.join("webby.nomad.hcl");
    std::fs::write(&other, spec.replace("job \"web\"", "job \"webby\"")).unwrap();
    ok(a, &["job", "run", "-detach", other.to_str().unwrap()]);
    assert!(ok(a, &["job", "status", "web"]).contains("ID            = web\n"));
    let ambiguous = orch(a, &["job", "status", "we"]);
    assert_eq!(ambiguous.code, 1);
    assert!(
        ambiguous.stderr.contains("matched multiple jobs") && ambiguous.stderr.contains("webby"),
        "{}",
        ambiguous.stderr
    );
    ok(a, &["job", "stop", "-purge", "-detach", "webb"]);

    let members = ok(a, &["server", "members"]);
    assert!(
        members.contains("alive") && members.contains("true"),
        "{members}"
    );
    let peers = ok(a, &["operator", "raft", "list-peers"]);
    assert!(
        peers.contains("leader") && peers.contains("Voter"),
        "{peers}"
    );

    // Global flags before the command work too.
    assert!(ok("http://127.0.0.1:1", &["-address", a, "job", "status"]).contains("web"));

    // Stop and purge.
    let stop = ok(a, &["job", "stop", "-purge", "web"]);
    assert!(stop.contains("finished with status \"complete\""), "{stop}");
    assert!(ok(a, &["job", "status"]).contains("No running jobs"));

    // Usage errors name what exists.
    let bad = orch(a, &["job", "status", "-bogus"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("-address"), "{}", bad.stderr);
    let bad = orch(a, &["job", "frobnicate"]);
    assert!(bad.stderr.contains("history"), "{}", bad.stderr);
    assert!(ok(a, &["node", "drain", "-h"]).contains("-deadline"));
    // Node verbs name what is wrong: no such node, or a missing -enable/-disable.
    let drain = orch(a, &["node", "drain", "-enable", "-yes", "abcd"]);
    assert_eq!(drain.code, 1);
    assert!(
        drain.stderr.contains("No node with prefix or ID \"abcd\""),
        "{}",
        drain.stderr
    );
    let elig = orch(a, &["node", "eligibility", "abcd"]);
    assert!(
        elig.stderr.contains("-enable or -disable"),
        "{}",
        elig.stderr
    );
    let alloc = orch(a, &["alloc", "status", "abcd"]);
    assert!(
        alloc.stderr.contains("No allocation with prefix"),
        "{}",
        alloc.stderr
    );
    // The job was purged above: dispatch names the missing job.
    let dispatch = orch(a, &["job", "dispatch", "web"]);
    assert_ne!(dispatch.code, 0);
    assert!(dispatch.stderr.contains("\"web\""), "{}", dispatch.stderr);
}

#[test]
fn unreachable_agent_says_how_to_fix_it() {
    let o = orch("http://127.0.0.1:1", &["job", "status"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr
            .contains("cannot reach the orch agent at http://127.0.0.1:1"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("orch agent -dev"), "{}", o.stderr);
    assert!(o.stderr.contains("ORCH_ADDR"), "{}", o.stderr);
}

/// A verb whose reader is gone (`orch job run -h | head -0`) ends quietly, killed by
/// SIGPIPE as a Go program is, instead of panicking in its first `println!`.
#[test]
fn a_closed_stdout_ends_a_verb_without_a_panic() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    let mut fds = [0i32; 2];
    // Close-on-exec: a child another test spawns meanwhile must not inherit the read
    // end (it would keep the pipe readable, and no SIGPIPE would come).
    // SAFETY: pipe2 fills the two-element array it is given.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created by pipe and are owned here alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read); // Nobody will read: every write fails.
    let out = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["job", "run", "-h"])
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?} {stderr}",
        out.status
    );
}
