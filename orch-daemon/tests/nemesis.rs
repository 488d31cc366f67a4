//! The nemesis against real servers (see `src/bin/nemesis`): three and five `orch`
//! servers, each in a network namespace of its own, under concurrent registrations,
//! scales, deregistrations and reads while a fault is injected every few seconds. The
//! history must be linearizable and no acknowledged write may be lost. A short run
//! here; `cargo run -p orch-daemon --bin nemesis -- --seconds 600` runs the ten
//! minutes (see `benches/README.md`). The `disconnect` scenario cuts a client off
//! from the servers and checks Nomad's `disconnect` rules. Needs root (namespaces,
//! iptables, tmpfs).

mod common;

fn run_nemesis(servers: &str, seed: &str) {
    let dir = common::temp_dir(&format!("nemesis-{servers}"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nemesis"))
        .args([
            "--servers",
            servers,
            "--seconds",
            "40",
            "--fault-every",
            "8",
        ])
        .args(["--seed", seed, "--orch", env!("CARGO_BIN_EXE_orch")])
        .arg("--dir")
        .arg(&dir)
        .arg("--dump")
        .arg(dir.join("history.jsonl"))
        .output()
        .expect("run the nemesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report; stderr: {}; server logs in {}",
                String::from_utf8_lossy(&out.stderr),
                dir.display()
            )
        });
    assert_eq!(report["acknowledged_writes_lost"], 0, "{report}");
    assert_eq!(
        report["linearizability_violations"],
        0,
        "{report}; history in {}",
        dir.display()
    );
    assert_eq!(report["undecided_keys"], 0, "{report}");
    assert!(
        report["acknowledged_writes"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    assert!(out.status.success(), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn three_servers_under_faults_stay_linearizable_and_lose_nothing() {
    run_nemesis("3", "3");
}

#[test]
fn five_servers_under_faults_stay_linearizable_and_lose_nothing() {
    run_nemesis("5", "5");
}

#[test]
fn a_client_cut_off_keeps_its_tasks_and_on_reconnect_keeps_the_original() {
    let dir = common::temp_dir("nemesis-disconnect");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nemesis"))
        .args(["--servers", "1", "--scenario", "disconnect"])
        .args(["--orch", env!("CARGO_BIN_EXE_orch")])
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run the nemesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no report; stderr: {stderr}; logs in {}", dir.display()));
    for held in [
        "original_kept_running_while_cut_off",
        "reconnect_kept_original_and_stopped_replacement",
        "original_process_unchanged",
    ] {
        assert_eq!(
            report[held],
            true,
            "{held}: {report}; logs in {}",
            dir.display()
        );
    }
    assert!(
        report["stop_on_client_after_stopped_task_after_ms"].is_u64(),
        "{report}"
    );
    assert!(out.status.success(), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}
