//! The task drivers against real processes: raw_exec, exec (namespaces, chroot, cgroups)
//! and java, supervised by the real `orch task-shim`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use orch_daemon::client::driver::logs::{self, LogKind, Origin};
use orch_daemon::client::driver::{
    Driver, DriverError, DriverRegistry, ExecDriver, ExitResult, JavaDriver, RawExecDriver,
    TaskHandle, TaskSpec, procfs,
};
use serde_json::json;

fn shim() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_orch"))
}

/// A task spec with fresh allocation/task/log directories.
fn spec(task: &str, config: serde_json::Value) -> TaskSpec {
    let alloc_id = uuid::Uuid::new_v4().to_string();
    let alloc_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("drivers")
        .join(&alloc_id);
    let task_dir = alloc_dir.join(task);
    for d in ["local", "secrets", "tmp"] {
        std::fs::create_dir_all(task_dir.join(d)).ok();
    }
    std::fs::create_dir_all(alloc_dir.join("alloc/logs")).ok();
    let env: BTreeMap<String, String> = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("NOMAD_TASK_NAME", task),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([(
        "NOMAD_ALLOC_DIR".to_string(),
        alloc_dir.join("alloc").display().to_string(),
    )])
    .collect();
    TaskSpec {
        alloc_id,
        task_name: task.to_string(),
        config,
        env,
        user: String::new(),
        log_dir: alloc_dir.join("alloc/logs"),
        task_dir,
        alloc_dir,
        log_max_files: 10,
        log_max_file_size_mb: 10,
        cpu_mhz: 100,
        memory_mb: 128,
        memory_max_mb: 0,
        node_id: String::new(),
        node_name: String::new(),
        ports: Vec::new(),
        network: None,
        volumes: Vec::new(),
    }
}

fn sh(script: &str) -> serde_json::Value {
    json!({"command": "/bin/sh", "args": ["-c", script]})
}

fn wait(d: &dyn Driver, h: &TaskHandle, timeout: Duration) -> ExitResult {
    let deadline = Instant::now() + timeout;
    loop {
        match d.try_wait(h) {
            Ok(Some(r)) => return r,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            other => panic!("task did not finish in {timeout:?}: {other:?}"),
        }
    }
}

fn log_text(s: &TaskSpec, kind: LogKind) -> String {
    let chunks = logs::read_logs(&s.log_dir, &s.task_name, kind, Origin::Start, 0, 1 << 30)
        .unwrap_or_default();
    String::from_utf8_lossy(
        &chunks
            .iter()
            .flat_map(|c| c.data.clone())
            .collect::<Vec<_>>(),
    )
    .into_owned()
}

fn can_isolate(test: &str) -> bool {
    match ExecDriver::unavailable_reason() {
        None => true,
        Some(reason) => {
            println!("{test} skipped: needs root with cgroups and namespaces ({reason})");
            false
        }
    }
}

#[test]
fn raw_exec_reports_exit_code_and_logs() {
    let d = RawExecDriver::new(shim());
    assert!(d.fingerprint().healthy);
    let s = spec("web", sh("echo hi; echo err >&2; exit 3"));
    let h = d.start(&s).expect("start");
    let r = wait(&d, &h, Duration::from_secs(10));
    assert_eq!(
        (r.exit_code, r.signal, r.oom_killed, r.err),
        (3, 0, false, None)
    );
    assert_eq!(log_text(&s, LogKind::Stdout), "hi\n");
    assert_eq!(log_text(&s, LogKind::Stderr), "err\n");
    assert!(s.log_dir.join("web.stdout.0").exists());
    // Idempotent afterwards; signalling an exited task is an error, stopping is not.
    assert_eq!(d.try_wait(&h).ok().flatten().map(|r| r.exit_code), Some(3));
    assert!(matches!(d.signal(&h, "SIGHUP"), Err(DriverError::Gone(_))));
    assert_eq!(
        d.stop(&h, "SIGINT", Duration::from_secs(1))
            .ok()
            .map(|r| r.exit_code),
        Some(3)
    );
    d.destroy(&h).expect("destroy");
}

#[test]
fn raw_exec_start_errors_are_clear() {
    let d = RawExecDriver::new(shim());
    let e = d
        .start(&spec("t", json!({"command": "no-such-binary-xyz"})))
        .err();
    assert!(e.is_some_and(|e| e.to_string().contains("no-such-binary-xyz")));
    let e = d.validate_config(&json!({"command": 3})).err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("config.command: must be a string")
    );
    // A relative command is found in the task directory (artifacts in local/).
    let s = spec("rel", json!({"command": "local/hello.sh"}));
    std::fs::write(
        s.task_dir.join("local/hello.sh"),
        "#!/bin/sh\necho from-local\n",
    )
    .ok();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(s.task_dir.join("local/hello.sh"))
        .status()
        .ok();
    let h = d.start(&s).expect("start");
    assert!(wait(&d, &h, Duration::from_secs(10)).successful());
    assert_eq!(log_text(&s, LogKind::Stdout), "from-local\n");
}

#[test]
fn raw_exec_stop_kills_the_process_group() {
    let d = RawExecDriver::new(shim());
    let s = spec("sleeper", sh("sleep 1000 & sleep 1000"));
    let h = d.start(&s).expect("start");
    let pgid = h.state["pids"]["task_pid"].as_i64().expect("task pid") as i32;
    let deadline = Instant::now() + Duration::from_secs(5);
    while procfs::group_members(pgid).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let members: Vec<i32> = procfs::group_members(pgid)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(members.len(), 3, "sh and two sleeps");
    assert!(d.stats(&h).ok().flatten().is_some_and(|u| u.rss_bytes > 0));
    // The background sleep ignores SIGINT (POSIX shells do that without job control):
    // sh dies of the SIGINT, and stop() kills what is left of the group.
    let t = Instant::now();
    let r = d.stop(&h, "SIGINT", Duration::from_secs(10)).expect("stop");
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "no wait for the timeout"
    );
    assert_eq!(r.signal, 2, "killed by SIGINT");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        procfs::group_members(pgid).is_empty(),
        "background child killed too"
    );
    assert_eq!(d.stats(&h).ok().flatten(), None);
}

#[test]
fn raw_exec_stop_escalates_to_sigkill() {
    let d = RawExecDriver::new(shim());
    let s = spec(
        "stubborn",
        sh("trap 'echo got-int' INT; while true; do sleep 0.1; done"),
    );
    let h = d.start(&s).expect("start");
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let r = d.stop(&h, "INT", Duration::from_secs(1)).expect("stop");
    assert!(t.elapsed() >= Duration::from_secs(1));
    assert_eq!(r.signal, 9, "{r:?}");
    assert!(log_text(&s, LogKind::Stdout).contains("got-int"));
}

#[test]
fn raw_exec_signal_by_name() {
    let d = RawExecDriver::new(shim());
    let s = spec(
        "sig",
        sh("trap 'echo usr1; exit 0' USR1; while true; do sleep 0.05; done"),
    );
    let h = d.start(&s).expect("start");
    std::thread::sleep(Duration::from_millis(300));
    let e = d
        .signal(&h, "SIGBOGUS")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("unknown signal \"SIGBOGUS\""), "{e}");
    d.signal(&h, "SIGUSR1").expect("signal");
    assert!(wait(&d, &h, Duration::from_secs(10)).successful());
    assert_eq!(log_text(&s, LogKind::Stdout), "usr1\n");
}

#[test]
fn log_rotation_and_reader_offsets() {
    let d = RawExecDriver::new(shim());
    let mut s = spec("chatty", sh("seq 1 600000"));
    s.log_max_file_size_mb = 1;
    s.log_max_files = 2;
    let h = d.start(&s).expect("start");
    assert!(wait(&d, &h, Duration::from_secs(30)).successful());
    let full: String = (1..=600000).map(|i| format!("{i}\n")).collect();
    let files = logs::list_log_files(&s.log_dir, "chatty", LogKind::Stdout).expect("list");
    let names: Vec<u64> = files.iter().map(|f| f.index).collect();
    // ~3.9 MB in 1 MiB files: .0 to .3 written, the newest two kept.
    let last = (full.len() as u64).div_ceil(1 << 20) - 1;
    assert_eq!(names, [last - 1, last]);
    assert_eq!(files[0].size, 1 << 20);
    let kept = &full.as_bytes()[full.len() - (files[0].size + files[1].size) as usize..];
    let read = |origin, offset, limit| -> Vec<u8> {
        logs::read_logs(&s.log_dir, "chatty", LogKind::Stdout, origin, offset, limit)
            .expect("read")
            .into_iter()
            .flat_map(|c| c.data)
            .collect()
    };
    assert_eq!(read(Origin::Start, 0, usize::MAX), kept);
    assert_eq!(read(Origin::End, 7, 100), b"600000\n");
    // Across the file boundary.
    let at = (1 << 20) - 5;
    assert_eq!(
        read(Origin::Start, at, 10),
        &kept[at as usize..at as usize + 10]
    );
    let chunks = logs::read_logs(&s.log_dir, "chatty", LogKind::Stdout, Origin::Start, at, 10)
        .expect("read");
    assert_eq!(chunks.len(), 2);
    assert_eq!(
        (chunks[0].file.as_str(), chunks[0].offset),
        (format!("chatty.stdout.{}", last - 1).as_str(), at)
    );
    assert_eq!(
        (chunks[1].file.as_str(), chunks[1].offset),
        (format!("chatty.stdout.{last}").as_str(), 0)
    );
}

#[test]
fn recover_a_running_task_with_a_new_driver() {
    let s = spec("long", sh("sleep 1000"));
    let h = {
        let d = RawExecDriver::new(shim());
        d.start(&s).expect("start")
    };
    // The client restarts: the handle went through its JSON state file.
    let h: TaskHandle =
        serde_json::from_str(&serde_json::to_string(&h).expect("encode")).expect("decode");
    let d = DriverRegistry::with_builtin(shim())
        .get("raw_exec")
        .expect("raw_exec");
    d.recover(&h).expect("recover");
    assert_eq!(d.try_wait(&h).ok().flatten(), None);
    let r = d.stop(&h, "SIGTERM", Duration::from_secs(5)).expect("stop");
    assert_eq!(r.signal, 15);
}

#[test]
fn exit_while_the_client_is_away_is_reported_after_recover() {
    let s = spec("brief", sh("sleep 0.5; exit 7"));
    let h = RawExecDriver::new(shim()).start(&s).expect("start");
    std::thread::sleep(Duration::from_millis(1500));
    let d = RawExecDriver::new(shim());
    d.recover(&h).expect("recover");
    let r = wait(&d, &h, Duration::from_secs(5));
    assert_eq!((r.exit_code, r.err), (7, None));
}

#[test]
fn recover_of_a_vanished_task_is_gone() {
    let s = spec("ghost", sh("exit 0"));
    let d = RawExecDriver::new(shim());
    let h = d.start(&s).expect("start");
    wait(&d, &h, Duration::from_secs(5));
    std::fs::remove_dir_all(s.task_dir.join(".orch")).ok();
    assert!(matches!(d.recover(&h), Err(DriverError::Gone(_))));
}

#[test]
fn exec_isolates_the_task() {
    if !can_isolate("exec_isolates_the_task") {
        return;
    }
    let d = ExecDriver::new(shim());
    let fp = d.fingerprint();
    assert!(fp.detected && fp.healthy, "{fp:?}");
    let s = spec(
        "iso",
        sh(
            "echo pid=$$; hostname; ls /proc | grep -c '^[0-9]'; ls -d /local /alloc /secrets /tmp; \
            id -u; echo $NOMAD_TASK_DIR $NOMAD_ALLOC_DIR; touch /local/ok && echo writable",
        ),
    );
    let h = d.start(&s).expect("start");
    let r = wait(&d, &h, Duration::from_secs(10));
    let out = log_text(&s, LogKind::Stdout);
    assert!(
        r.successful(),
        "{r:?} {out} {}",
        log_text(&s, LogKind::Stderr)
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "pid=1");
    assert_eq!(lines[1], &s.alloc_id[..8]);
    let procs: usize = lines[2].parse().expect("count");
    assert!(procs <= 4, "sees only its own processes: {procs}");
    assert_eq!(&lines[3..7], ["/alloc", "/local", "/secrets", "/tmp"]);
    assert_eq!(lines[7], "65534", "runs as nobody");
    assert_eq!(lines[8], "/local /alloc");
    assert_eq!(lines[9], "writable");
    // Nothing was mounted on the host.
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    assert!(!mounts.contains(&s.alloc_id), "mount leaked to the host");
    d.destroy(&h).expect("destroy");
}

#[test]
fn exec_start_failure_is_reported() {
    if !can_isolate("exec_start_failure_is_reported") {
        return;
    }
    let d = ExecDriver::new(shim());
    let e = d
        .start(&spec("bad", json!({"command": "/no/such/thing"})))
        .err();
    let msg = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("/no/such/thing") && msg.contains("chroot"),
        "{msg}"
    );
}

#[test]
fn exec_memory_limit_oom_kills() {
    if !can_isolate("exec_memory_limit_oom_kills") {
        return;
    }
    let d = ExecDriver::new(shim());
    let script = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3 -c 'x = bytearray(200 * 1024 * 1024); print(len(x))'"
    } else {
        "head -c 200m /dev/zero | tail > /dev/null"
    };
    let mut s = spec("hog", sh(script));
    s.memory_mb = 32;
    let h = d.start(&s).expect("start");
    let r = wait(&d, &h, Duration::from_secs(30));
    assert!(r.oom_killed, "{r:?} {}", log_text(&s, LogKind::Stderr));
    assert!(!r.successful());
    d.destroy(&h).expect("destroy");
}

#[test]
fn exec_stats_stop_and_cgroup_cleanup() {
    if !can_isolate("exec_stats_stop_and_cgroup_cleanup") {
        return;
    }
    let d = ExecDriver::new(shim());
    let s = spec(
        "busy",
        sh("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 1000"),
    );
    let h = d.start(&s).expect("start");
    let deadline = Instant::now() + Duration::from_secs(20);
    let usage = loop {
        let u = d.stats(&h).expect("stats").expect("running");
        if u.cpu_total_ns > 100_000_000 && u.memory_usage_bytes > 0 || Instant::now() > deadline {
            break u;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        usage.memory_usage_bytes > 0 && usage.cpu_total_ns > 0,
        "{usage:?}"
    );
    // SIGINT reaches the group: sleep dies of it, sh (pid 1) exits with 130.
    let r = d.stop(&h, "SIGINT", Duration::from_secs(5)).expect("stop");
    assert_eq!((r.exit_code, r.signal), (130, 0), "{r:?}");
    let cg = h.state["cgroup"]["memory"]
        .as_str()
        .map(PathBuf::from)
        .expect("cgroup");
    assert!(cg.exists());
    d.destroy(&h).expect("destroy");
    assert!(!cg.exists(), "cgroup removed");
}

fn compile_java(dir: &Path) -> bool {
    let ok = |c: &mut std::process::Command| c.status().is_ok_and(|s| s.success());
    let javac = std::process::Command::new("javac").arg("-version").output();
    if !javac.is_ok_and(|o| o.status.success()) {
        println!("java tests skipped: javac not found");
        return false;
    }
    let src = dir.join("Hello.java");
    std::fs::write(
        &src,
        "public class Hello { public static void main(String[] a) { \
         System.out.println(\"hello from java \" + String.join(\",\", a)); } }",
    )
    .ok();
    ok(std::process::Command::new("javac")
        .arg("-d")
        .arg(dir)
        .arg(&src))
        && ok(std::process::Command::new("jar").current_dir(dir).args([
            "cfe",
            "hello.jar",
            "Hello",
            "Hello.class",
        ]))
}

#[test]
fn java_runs_jars_and_classes() {
    let d = JavaDriver::new(shim());
    let fp = d.fingerprint();
    if !fp.detected {
        println!("java test skipped: {}", fp.health_description);
        return;
    }
    assert!(
        fp.attributes
            .get("java.version")
            .is_some_and(|v| !v.is_empty()),
        "{fp:?}"
    );
    for config in [
        json!({"jar_path": "local/hello.jar", "args": ["a", "b"]}),
        json!({"class": "Hello", "class_path": "local", "jvm_options": ["-Xms16m"], "args": ["a", "b"]}),
    ] {
        let mut s = spec("jvm", config);
        s.memory_mb = 256;
        if !compile_java(&s.task_dir.join("local")) {
            return;
        }
        let h = d.start(&s).expect("start");
        let r = wait(&d, &h, Duration::from_secs(60));
        assert!(r.successful(), "{r:?} {}", log_text(&s, LogKind::Stderr));
        assert_eq!(log_text(&s, LogKind::Stdout), "hello from java a,b\n");
        d.destroy(&h).expect("destroy");
    }
}

#[test]
fn exec_task_survives_a_driver_restart() {
    if !can_isolate("exec_task_survives_a_driver_restart") {
        return;
    }
    let s = spec(
        "durable",
        sh("trap 'echo term; exit 5' TERM; while true; do sleep 0.05; done"),
    );
    let h = ExecDriver::new(shim()).start(&s).expect("start");
    std::thread::sleep(Duration::from_millis(300));
    let d = ExecDriver::new(shim());
    d.recover(&h).expect("recover");
    assert_eq!(d.try_wait(&h).ok().flatten(), None);
    // pid 1 has a TERM handler, so the signal reaches it from the host.
    let r = d.stop(&h, "SIGTERM", Duration::from_secs(5)).expect("stop");
    assert_eq!((r.exit_code, r.signal), (5, 0), "{r:?}");
    assert!(log_text(&s, LogKind::Stdout).contains("term"));
    d.destroy(&h).expect("destroy");
}

#[test]
fn registry_fingerprints_the_builtin_drivers() {
    let r = DriverRegistry::with_builtin(shim());
    assert_eq!(r.names(), ["exec", "java", "raw_exec"]);
    let fps = r.fingerprint_all();
    assert!(fps["raw_exec"].detected && fps["raw_exec"].healthy);
    assert_eq!(
        fps["exec"].healthy,
        ExecDriver::unavailable_reason().is_none()
    );
}
