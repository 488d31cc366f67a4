//! Tools that drive the `nomad` command work with `orch` in its place: the real `orch`
//! binary against a real dev agent, checked for Nomad's exit codes (`job plan` 0/1/255,
//! `job run -detach`, `job status` of an unknown job, usage errors, no command), its
//! `-json` shapes and `-t` Go templates, `-verbose` full IDs, Go-style switches
//! (`-diff=false`), and flags orch cannot honour refused by name.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;

const JOB: &str = r#"
job "parity" {
  datacenters = ["dc1"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo to-stdout; echo to-stderr >&2; while true; do sleep 1; done"]
      }
      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
"#;

/// What one run of the CLI gave.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn cli(agent: &Agent, args: &[&str]) -> Run {
    let out = orch_cli(agent, args);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the CLI and insists on exit code `code`.
fn cli_code(agent: &Agent, args: &[&str], code: i32) -> Run {
    let r = cli(agent, args);
    assert_eq!(
        r.code, code,
        "orch {args:?}: exit {} (want {code})\nstdout: {}\nstderr: {}",
        r.code, r.stdout, r.stderr
    );
    r
}

fn write_job(dir: &Path) -> String {
    let path = dir.join("parity.nomad.hcl");
    std::fs::write(&path, JOB).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn plan_run_and_status_exit_codes_and_output_formats_are_nomads() {
    let dir = temp_dir("cli-parity");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let spec = write_job(&dir);

    // job plan: 1 when allocations would be created, 255 on any error.
    let plan = cli_code(&agent, &["job", "plan", &spec], 1);
    assert!(plan.stdout.contains("+ Job: \"parity\""), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("orch job run -check-index 0"),
        "{}",
        plan.stdout
    );
    let json = cli_code(&agent, &["job", "plan", "-json-output", &spec], 1);
    let reply: Value = serde_json::from_str(&json.stdout).expect("plan -json-output is JSON");
    assert_eq!(reply["Diff"]["Type"], "Added", "{reply}");
    let t = cli_code(&agent, &["job", "plan", "-t", "{{.Diff.Type}}", &spec], 1);
    assert_eq!(t.stdout.trim(), "Added");
    cli_code(&agent, &["job", "plan", "no-such-file.hcl"], 255);
    cli_code(&agent, &["job", "plan", "-bogus", &spec], 255);
    cli_code(
        &agent,
        &["job", "plan", "-json-output", "-t", "x", &spec],
        255,
    );
    let quiet = cli_code(&agent, &["job", "plan", "-diff=false", &spec], 1);
    assert!(
        !quiet.stdout.contains("Job: \"parity\""),
        "{}",
        quiet.stdout
    );
    // -json reads the jobspec as JSON, as in Nomad.
    let e = cli_code(&agent, &["job", "plan", "-json", &spec], 255);
    assert!(e.stderr.contains("-json"), "{}", e.stderr);

    // job run -detach: 0 and the evaluation ID.
    let run = cli_code(&agent, &["job", "run", "-detach", &spec], 0);
    assert!(
        run.stdout
            .starts_with("Job registration successful\nEvaluation ID: ")
    );
    let eval_id = run.stdout.lines().nth(1).unwrap()["Evaluation ID: ".len()..].to_string();
    assert_eq!(eval_id.len(), 36, "a full evaluation ID: {eval_id}");
    let alloc = wait_for(Duration::from_secs(60), "a running allocation", || {
        job_allocs(&agent, "parity")
            .into_iter()
            .find(|a| a["ClientStatus"] == "running")
            .and_then(|a| a["ID"].as_str().map(str::to_string))
    });
    // Once it runs, the same plan changes nothing: 0.
    wait_for(Duration::from_secs(30), "a plan without changes", || {
        (cli(&agent, &["job", "plan", &spec]).code == 0).then_some(())
    });

    // job status: Nomad's JobJson list for -json, Go templates for -t, 1 when unknown.
    let status = cli_code(&agent, &["job", "status", "-json", "parity"], 0);
    let list: Value = serde_json::from_str(&status.stdout).expect("job status -json");
    assert_eq!(list[0]["Summary"]["JobID"], "parity", "{list}");
    assert_eq!(list[0]["Allocations"][0]["ID"], alloc.as_str(), "{list}");
    assert!(list[0]["Evaluations"].is_array(), "{list}");
    assert!(
        status.stdout.starts_with("[\n    {\n        \""),
        "4-space indent"
    );
    let t = cli_code(
        &agent,
        &[
            "job",
            "status",
            "-t",
            "{{range .}}{{.Summary.JobID}}:{{range .Allocations}}{{.ClientStatus}}{{end}}{{end}}",
        ],
        0,
    );
    assert_eq!(t.stdout.trim(), "parity:running");
    cli_code(&agent, &["job", "status", "no-such-job"], 1);
    cli_code(
        &agent,
        &["job", "status", "-json", "-t", "{{.}}", "parity"],
        1,
    );

    // -verbose: full IDs; without it, Nomad's 8 characters.
    let short = cli_code(&agent, &["job", "status", "parity"], 0);
    assert!(short.stdout.contains(&alloc[..8]) && !short.stdout.contains(&alloc));
    let full = cli_code(&agent, &["job", "status", "-verbose", "parity"], 0);
    assert!(full.stdout.contains(&alloc), "{}", full.stdout);
    assert!(full.stdout.contains("\nEvaluations\n"), "{}", full.stdout);
    let short_only = cli_code(&agent, &["job", "status", "-short", "parity"], 0);
    assert!(
        !short_only.stdout.contains("Allocations"),
        "{}",
        short_only.stdout
    );

    // alloc and node status through templates; the general options Nomad takes.
    let t = cli_code(
        &agent,
        &[
            "alloc",
            "status",
            "-no-color",
            "-t",
            "{{.JobID}} {{.TaskGroup}}",
            &alloc,
        ],
        0,
    );
    assert_eq!(t.stdout.trim(), "parity g");
    let t = cli_code(
        &agent,
        &["node", "status", "-t", "{{range .}}{{.Status}}{{end}}"],
        0,
    );
    assert_eq!(t.stdout.trim(), "ready");
    let quiet = cli_code(&agent, &["node", "status", "-quiet"], 0);
    assert_eq!(quiet.stdout.trim().len(), 8, "{}", quiet.stdout);
    let t = cli_code(
        &agent,
        &["eval", "status", "-t", "{{.ID}} {{.JobID}}", &eval_id],
        0,
    );
    assert_eq!(t.stdout.trim(), format!("{eval_id} parity"));

    // alloc logs -job picks an allocation of the job; -stdout and -stderr exclude each other.
    let logs = wait_for(Duration::from_secs(30), "the task's stdout", || {
        let r = cli(&agent, &["alloc", "logs", "-job", "parity"]);
        r.stdout.contains("to-stdout").then_some(r)
    });
    assert!(!logs.stdout.contains("to-stderr"), "{}", logs.stdout);
    cli_code(&agent, &["alloc", "logs", "-stdout", "-stderr", &alloc], 1);

    // A verb that prints no object refuses -json instead of ignoring it.
    let e = cli_code(&agent, &["job", "stop", "-json", "parity"], 1);
    assert!(e.stderr.contains("unknown flag -json"), "{}", e.stderr);
    // Flags orch cannot honour are refused by name.
    let e = cli_code(&agent, &["alloc", "status", "-stats", &alloc], 1);
    assert!(
        e.stderr.contains("-stats is not supported by orch"),
        "{}",
        e.stderr
    );
    let e = cli_code(&agent, &["job", "run", "-preserve-resources", &spec], 1);
    assert!(e.stderr.contains("-preserve-resources"), "{}", e.stderr);
    let e = cli_code(&agent, &["job", "status", "-verbose=maybe"], 1);
    assert!(e.stderr.contains("invalid boolean value"), "{}", e.stderr);

    // job stop -detach prints the bare evaluation ID, as Nomad's, and exits 0.
    let stop = cli_code(&agent, &["job", "stop", "-detach", "parity"], 0);
    assert_eq!(stop.stdout.trim().len(), 36, "{}", stop.stdout);
}

#[test]
fn help_usage_errors_and_missing_commands_exit_as_nomad() {
    let dir = temp_dir("cli-parity-help");
    let agent = Agent::remote("http://127.0.0.1:9");
    let help = cli_code_remote(&agent, &["job", "run", "-help"], 0);
    assert!(
        help.starts_with("Usage: orch job run [options] <path>"),
        "{help}"
    );
    let general = help.find("General Options:").expect("general options");
    let own = help.find("Run Options:").expect("run options");
    assert!(general < own, "{help}");
    for flag in [
        "-address=<addr>",
        "-no-color",
        "-ca-path",
        "-detach",
        "-eval-priority",
    ] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
    assert!(cli_code_remote(&agent, &["-help"], 0).starts_with("Usage: orch"));
    cli_code_remote(&agent, &[], 127);
    cli_code_remote(&agent, &["no-such-command"], 127);
    cli_code_remote(&agent, &["job"], 1);
    cli_code_remote(&agent, &["job", "status", "-bogus"], 1);
    // job validate needs no agent and takes Nomad's jobspec flags.
    let spec = write_job(&dir);
    let ok = cli_code_remote(&agent, &["job", "validate", "-hcl2-strict", &spec], 0);
    assert!(ok.starts_with("Job validation successful"), "{ok}");
}

/// Runs the CLI against an agent that is not there (only verbs that need none) and
/// insists on exit code `code`; returns stdout.
fn cli_code_remote(agent: &RemoteAgent, args: &[&str], code: i32) -> String {
    let out = orch_cli(agent, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "orch {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every verb operators type (the issue's list and the operator commands): `-help`
/// prints Nomad's layout (usage line, `General Options` before the verb's own) and
/// exits 0, even when the verb has sub-words (`system reconcile summaries`); each noun
/// with sub-commands lists them.
#[test]
fn help_on_every_everyday_verb_and_noun() {
    let agent = Agent::remote("http://127.0.0.1:9");
    let verbs: &[&[&str]] = &[
        &["alloc", "restart"],
        &["alloc", "signal"],
        &["alloc", "stop"],
        &["alloc", "fs"],
        &["alloc", "checks"],
        &["alloc", "exec"],
        &["job", "allocs"],
        &["job", "deployments"],
        &["job", "eval"],
        &["job", "promote"],
        &["job", "restart"],
        &["job", "start"],
        &["node", "config"],
        &["node", "meta", "read"],
        &["node", "meta", "apply"],
        &["eval", "delete"],
        &["deployment", "unblock"],
        &["server", "join"],
        &["server", "members"],
        &["system", "gc"],
        &["system", "reconcile", "summaries"],
        &["status"],
        &["ui"],
        &["monitor"],
        &["operator", "snapshot", "save"],
        &["operator", "snapshot", "restore"],
        &["operator", "snapshot", "inspect"],
        &["operator", "scheduler", "get-config"],
        &["operator", "scheduler", "set-config"],
        &["operator", "autopilot", "get-config"],
        &["operator", "autopilot", "set-config"],
        &["operator", "autopilot", "health"],
        &["operator", "raft", "list-peers"],
        &["operator", "raft", "transfer-leadership"],
        &["job", "periodic", "force"],
        &["volume", "snapshot", "create"],
        &["volume", "snapshot", "list"],
        &["volume", "snapshot", "delete"],
    ];
    for verb in verbs {
        let args: Vec<&str> = verb.iter().copied().chain(["-help"]).collect();
        let help = cli_code_remote(&agent, &args, 0);
        let usage = format!("Usage: orch {} ", verb.join(" "));
        assert!(help.starts_with(&usage), "{verb:?}: {help}");
        assert!(help.contains("General Options:"), "{verb:?}: {help}");
        assert!(help.contains("-address=<addr>"), "{verb:?}: {help}");
    }
    let nouns: &[&[&str]] = &[
        &["operator"],
        &["operator", "autopilot"],
        &["operator", "raft"],
        &["operator", "scheduler"],
        &["operator", "snapshot"],
        &["operator", "root", "keyring"],
        &["system"],
        &["system", "reconcile"],
        &["node", "meta"],
        &["job", "periodic"],
        &["scaling", "policy"],
        &["volume", "snapshot"],
        &["tls", "ca"],
        &["tls", "cert"],
    ];
    for noun in nouns {
        let args: Vec<&str> = noun.iter().copied().chain(["-help"]).collect();
        let help = cli_code_remote(&agent, &args, 0);
        assert!(help.contains("Subcommands:"), "{noun:?}: {help}");
        let alone = orch_cli(&agent, noun);
        assert_eq!(alone.status.code(), Some(1), "{noun:?} alone");
    }
    let help = cli_code_remote(&agent, &["agent", "-help"], 0);
    let sections = [
        "General Options (clients and servers):",
        "Server Options:",
        "Client Options:",
        "ACL Options:",
    ];
    assert!(
        help.starts_with("Usage: orch agent [options]")
            && sections.iter().all(|s| help.contains(s)),
        "{help}"
    );
    let version = cli_code_remote(&agent, &["version", "-help"], 0);
    assert!(version.starts_with("Usage: orch version"), "{version}");
    let peers = cli_code_remote(&agent, &["operator", "raft", "list-peers", "-help"], 0);
    assert!(peers.contains("-stale"), "{peers}");
}
