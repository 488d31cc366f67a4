//! Safe task defaults and a hostile-task-proof allocation directory, on the real agent:
//! exec tasks keep only Nomad's default capabilities under no-new-privs and never run as
//! root by default; links and FIFOs a task plants do not make the root-owned agent read,
//! write or hang; secrets, logs and state files have owner-only modes.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use orch_daemon::client::driver::ExecDriver;
use serde_json::Value;

/// Nomad's default exec capabilities as the kernel's mask (`/proc/self/status` hex).
const DEFAULT_CAPS_HEX: &str = "00000000a80405fb";

fn can_isolate(test: &str) -> bool {
    match ExecDriver::unavailable_reason() {
        None => true,
        Some(reason) => {
            println!("{test} skipped: needs root with cgroups and namespaces ({reason})");
            false
        }
    }
}

/// The allocation of `job` once its client status is one of `statuses`.
fn alloc_in(agent: &Agent, job: &str, statuses: &[&str]) -> Value {
    wait_for(
        Duration::from_secs(60),
        &format!("{job} to be {statuses:?}"),
        || {
            job_allocs(agent, job)
                .into_iter()
                .find(|a| statuses.iter().any(|s| a["ClientStatus"] == *s))
        },
    )
}

/// Every event of every task of `alloc_id`, as text (types and messages).
fn events_text(agent: &Agent, alloc_id: &str) -> String {
    let (_, a) = get(agent, &format!("/v1/allocation/{alloc_id}"));
    a["TaskStates"].to_string()
}

fn id(alloc: &Value) -> String {
    alloc["ID"].as_str().unwrap_or_default().to_string()
}

fn stdout(agent: &Agent, alloc_id: &str, task: &str) -> String {
    let path = format!("/v1/client/fs/logs/{alloc_id}?task={task}&type=stdout&plain=true");
    get_text(agent, &path).1
}

/// A batch job of one task that is not restarted or rescheduled.
fn batch_job(name: &str, driver: &str, extra: &str, config: &str) -> String {
    format!(
        r#"
job "{name}" {{
  type = "batch"
  group "g" {{
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    reschedule {{
      attempts  = 0
      unlimited = false
    }}
    task "t" {{
      driver = "{driver}"
      {extra}
      config {{
        {config}
      }}
      resources {{
        cpu    = 50
        memory = 64
      }}
    }}
  }}
}}
"#
    )
}

#[test]
fn exec_tasks_keep_only_the_default_capabilities_and_never_run_as_root_by_default() {
    if !can_isolate("exec_tasks_keep_only_the_default_capabilities") {
        return;
    }
    let dir = temp_dir("security-exec");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let script = r#"command = "/bin/sh"
        args = ["-c", "grep -E '^(Uid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status"]"#;
    run_hcl(&agent, &batch_job("caps", "exec", "", script));
    let raw = r#"cap_add = ["net_raw"]
        command = "/bin/true""#;
    run_hcl(&agent, &batch_job("netraw", "exec", "", raw));
    let unknown = r#"cap_add = ["chown", "fly"]
        command = "/bin/true""#;
    run_hcl(&agent, &batch_job("unknown", "exec", "", unknown));
    run_hcl(
        &agent,
        &batch_job(
            "asroot",
            "exec",
            "user = \"root\"",
            "command = \"/bin/true\"",
        ),
    );
    run_hcl(
        &agent,
        &batch_job("asuid0", "exec", "user = \"0\"", "command = \"/bin/true\""),
    );

    let caps = alloc_in(&agent, "caps", &["complete", "failed"]);
    let out = stdout(&agent, &id(&caps), "t");
    assert_eq!(
        caps["ClientStatus"],
        "complete",
        "{out} {}",
        events_text(&agent, &id(&caps))
    );
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {name} in {out:?}"))
    };
    assert_eq!(field("CapEff:"), DEFAULT_CAPS_HEX, "{out}");
    assert_eq!(field("CapBnd:"), DEFAULT_CAPS_HEX, "{out}");
    assert_eq!(field("CapPrm:"), DEFAULT_CAPS_HEX, "{out}");
    assert_eq!(field("NoNewPrivs:"), "1", "{out}");
    let uids = field("Uid:");
    assert!(
        uids.split_whitespace().all(|u| u != "0"),
        "runs as root: {uids}"
    );

    for (job, expect) in [
        ("netraw", "allow_caps does not allow net_raw"),
        (
            "unknown",
            "config.cap_add[1]: unknown capability \\\"fly\\\"",
        ),
        ("asroot", "user.denylist"),
        ("asuid0", "user.denylist"),
    ] {
        let a = alloc_in(&agent, job, &["failed", "complete"]);
        assert_eq!(a["ClientStatus"], "failed", "{job}");
        let events = events_text(&agent, &id(&a));
        assert!(events.contains(expect), "{job}: {events}");
    }
}

/// The host directories an exec task sees are bound `ro,nosuid,nodev` and the allocation
/// directory `nosuid,nodev`, as the kernel reports them inside the task
/// (`/proc/self/mountinfo`): a setuid binary or a device node gives the task nothing.
#[test]
fn exec_binds_are_nosuid_and_nodev() {
    if !can_isolate("exec_binds_are_nosuid_and_nodev") {
        return;
    }
    let dir = temp_dir("security-mounts");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let config = r#"command = "/bin/cat"
        args = ["/proc/self/mountinfo"]"#;
    run_hcl(&agent, &batch_job("mounts", "exec", "", config));
    let a = alloc_in(&agent, "mounts", &["complete", "failed"]);
    let out = stdout(&agent, &id(&a), "t");
    assert_eq!(
        a["ClientStatus"],
        "complete",
        "{out} {}",
        events_text(&agent, &id(&a))
    );
    // mountinfo: field 5 is the mount point, field 6 its per-mount options.
    let options = |point: &str| -> Vec<String> {
        out.lines()
            .rev()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.get(4) == Some(&point)).then(|| f.get(5).copied().unwrap_or_default())
            })
            .unwrap_or_else(|| panic!("{point} is not mounted in the task: {out}"))
            .split(',')
            .map(str::to_string)
            .collect()
    };
    for point in ["/usr", "/etc"] {
        let opts = options(point);
        for want in ["ro", "nosuid", "nodev"] {
            assert!(opts.iter().any(|o| o == want), "{point}: {opts:?}");
        }
    }
    let opts = options("/alloc");
    for want in ["rw", "nosuid", "nodev"] {
        assert!(opts.iter().any(|o| o == want), "/alloc: {opts:?}");
    }
}

/// The data dir of `alloc_id`'s agent, from the `NOMAD_ALLOC_DIR` a raw_exec task printed
/// (`<data_dir>/alloc/<id>/alloc`).
fn alloc_paths(agent: &Agent, alloc_id: &str) -> (PathBuf, PathBuf) {
    let out = wait_for(Duration::from_secs(30), "the task's alloc dir", || {
        let o = stdout(agent, alloc_id, "t");
        o.lines()
            .find_map(|l| l.strip_prefix("ALLOC="))
            .map(str::to_string)
    });
    let shared = PathBuf::from(out.trim());
    let alloc = shared.parent().map(Path::to_path_buf).unwrap_or_default();
    let data = alloc
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    (alloc, data)
}

#[test]
fn planted_links_and_fifos_do_not_redirect_or_hang_the_agent() {
    let dir = temp_dir("security-links");
    let outside = dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let canary = outside.join("canary");
    std::fs::write(&canary, "canary-unchanged\n").unwrap();
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    // Run 1 plants links (to the canary, in alloc/data and in place of its own stdout
    // log) and a FIFO, then fails; run 2 (a restart) writes output the shim must not
    // send through the planted log link.
    let script = format!(
        r#"command = "/bin/sh"
        args = ["-c", "A=$NOMAD_ALLOC_DIR; echo ALLOC=$A; if [ -e $A/data/ran ]; then echo second-run; exit 0; fi; touch $A/data/ran; ln -s {c} $A/data/x; ln -s {o} $A/data/outdir; mkfifo $A/data/fifo; rm -f $A/logs/t.stdout.0; ln -s {c} $A/logs/t.stdout.0; exit 1"]"#,
        c = canary.display(),
        o = outside.display(),
    );
    let hcl = batch_job("hostile", "raw_exec", "", &script).replace(
        "attempts = 0\n      mode     = \"fail\"",
        "attempts = 1\n      delay    = \"1s\"\n      mode     = \"fail\"",
    );
    run_hcl(&agent, &hcl);
    let a = alloc_in(&agent, "hostile", &["complete", "failed"]);
    let alloc_id = id(&a);
    assert_eq!(
        a["ClientStatus"],
        "complete",
        "{}",
        events_text(&agent, &alloc_id)
    );
    assert_eq!(
        std::fs::read_to_string(&canary).unwrap(),
        "canary-unchanged\n",
        "the shim wrote through the planted log link"
    );
    for path in ["alloc/data/x", "alloc/data/outdir/canary"] {
        let (status, body) = get_text(&agent, &format!("/v1/client/fs/cat/{alloc_id}?path={path}"));
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body.contains("symlink") && !body.contains("canary-unchanged"),
            "{path}: {body}"
        );
    }
    let (status, body) = get_text(
        &agent,
        &format!("/v1/client/fs/ls/{alloc_id}?path=alloc/data/outdir"),
    );
    assert_eq!(status, 400, "fs/ls through a link: {body}");
    let (status, body) = get_text(
        &agent,
        &format!("/v1/client/fs/cat/{alloc_id}?path=alloc/data/fifo"),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("alloc/data/fifo") && body.contains("FIFO"),
        "{body}"
    );
    // The shim replaced the planted link with a fresh log file and went on logging.
    let logs = wait_for(Duration::from_secs(10), "run 2's stdout", || {
        let (status, body) = get_text(
            &agent,
            &format!("/v1/client/fs/logs/{alloc_id}?task=t&type=stdout&plain=true"),
        );
        (status == 200 && body.contains("second-run")).then_some(body)
    });
    assert!(
        !logs.contains("canary-unchanged"),
        "fs/logs followed the link: {logs}"
    );
    let log = std::fs::symlink_metadata(
        alloc_paths(&agent, &alloc_id)
            .0
            .join("alloc/logs/t.stdout.0"),
    );
    assert!(
        log.is_ok_and(|m| m.file_type().is_file()),
        "the log link was not replaced"
    );
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn secrets_logs_and_state_files_have_owner_only_modes() {
    let dir = temp_dir("security-modes");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let hcl = batch_job(
        "modes",
        "raw_exec",
        "",
        r#"command = "/bin/sh"
        args = ["-c", "echo ALLOC=$NOMAD_ALLOC_DIR; exec sleep 300"]"#,
    )
    .replace("type = \"batch\"", "type = \"service\"");
    run_hcl(&agent, &hcl);
    let a = alloc_in(&agent, "modes", &["running"]);
    let alloc_id = id(&a);
    let (alloc, data) = alloc_paths(&agent, &alloc_id);
    assert_eq!(mode(&alloc.join("t/secrets")), 0o700, "secrets");
    assert_eq!(
        mode(&alloc.join("alloc/logs")) & 0o022,
        0,
        "alloc/logs is writable by others"
    );
    assert_eq!(
        mode(&alloc.join("alloc")) & 0o022,
        0,
        "alloc/ is writable by others"
    );
    assert_eq!(mode(&alloc.join("t/.orch")), 0o700, "shim state dir");
    for f in ["state.json", "spec.json"] {
        let p = alloc.join("t/.orch").join(f);
        wait_for(Duration::from_secs(10), f, || p.exists().then_some(()));
        assert_eq!(mode(&p), 0o600, "{f}");
    }
    let client = data.join("client");
    assert_eq!(mode(&client), 0o700, "client state dir");
    assert_eq!(mode(&client.join("allocs")), 0o700, "client allocs dir");
    assert_eq!(mode(&client.join("node-id")), 0o600, "node identity");
    let state = client.join("allocs").join(format!("{alloc_id}.json"));
    wait_for(
        Duration::from_secs(10),
        "the allocation's state file",
        || state.exists().then_some(()),
    );
    assert_eq!(mode(&state), 0o600, "allocation state");
    let (s, _) = send(&agent, "DELETE", "/v1/job/modes", Value::Null);
    assert_eq!(s, 200);
}
