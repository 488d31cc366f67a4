//! `alloc exec` for real: the `orch` CLI (and a raw websocket speaking Nomad's frame
//! protocol) against real agents running raw_exec, exec and docker tasks. Commands
//! print, read stdin, exit with their own codes, run under a pty through `script`, see
//! the task's environment, directory, chroot and pid namespace, and reach a
//! client-only agent through the server that forwards the session.

mod common;
#[path = "common/docker.rs"]
mod docker_env;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use orch_daemon::ws::exec_frames::{ExecInput, ExecOutput, Handshake, IoOperation};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(90);

const JOB: &str = r#"
job "shell" {
  datacenters = ["dc1"]
  group "raw" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do sleep 1; done"]
      }
      env {
        GREETING = "from-the-task"
      }
      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
  group "iso" {
    task "jail" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do sleep 1; done"]
      }
      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
"#;

fn running_alloc(agent: &impl HasHttp, job: &str, group: &str) -> String {
    wait_for(
        WAIT,
        &format!("a running allocation of {job}/{group}"),
        || {
            job_allocs(agent, job)
                .into_iter()
                .find(|a| a["TaskGroup"] == group && a["ClientStatus"] == "running")
                .and_then(|a| a["ID"].as_str().map(str::to_string))
        },
    )
}

/// `orch alloc exec <args>` with `stdin` fed in; (exit code, stdout, stderr).
fn exec_cli(agent: &impl HasHttp, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("alloc")
        .arg("exec")
        .args(args)
        .env("ORCH_ADDR", agent.http())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn alloc_exec_runs_commands_beside_raw_exec_and_exec_tasks() {
    let dir = temp_dir("alloc-exec");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, JOB);
    let raw = running_alloc(&agent, "shell", "raw");
    let iso = running_alloc(&agent, "shell", "iso");

    // Output, the task's environment and directory; the only task is picked.
    let (code, out, err) = exec_cli(
        &agent,
        &["-i=false", &raw, "/bin/sh", "-c", "echo $GREETING; pwd"],
        b"",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("from-the-task\n"), "{out}");
    assert!(out.trim_end().ends_with(&format!("{raw}/t")), "{out}");

    // stderr and the command's own exit code.
    let (code, _, err) = exec_cli(
        &agent,
        &["-task", "t", &raw, "sh", "-c", "echo oops >&2; exit 3"],
        b"",
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("oops"), "{err}");

    // stdin reaches the command, and its end of file ends it.
    let (code, out, err) = exec_cli(&agent, &[&raw, "cat"], b"piped-in\nsecond line\n");
    assert_eq!(
        (code, out.as_str()),
        (0, "piped-in\nsecond line\n"),
        "{err}"
    );

    // exec: inside the task's chroot and pid namespace (its pid 1 is the task's shell).
    let (code, out, err) = exec_cli(
        &agent,
        &[
            &iso,
            "/bin/sh",
            "-c",
            "test -d /local && test -d /alloc && echo chrooted; cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$",
        ],
        b"",
    );
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"chrooted"), "{out}");
    assert!(
        lines.get(1).is_some_and(|l| l.contains("while true")),
        "{out}"
    );
    let pid: i32 = lines.get(2).and_then(|p| p.parse().ok()).unwrap_or(0);
    assert!(
        pid > 1 && pid < 1000,
        "not in the task's pid namespace: {out}"
    );

    // A pty: the CLI under `script`, a shell that sees a terminal.
    let script = format!(
        "{} alloc exec -task t {raw} /bin/sh",
        env!("CARGO_BIN_EXE_orch")
    );
    let mut child = Command::new("script")
        .args(["-qec", &script, "/dev/null"])
        .env("ORCH_ADDR", agent.http())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"tty; echo answer=$((6*7)); exit 5\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/dev/pts/"), "no terminal: {text}");
    assert!(text.contains("answer=42"), "{text}");
    assert_eq!(out.status.code(), Some(5), "{text}");

    // Refusals name the problem.
    let (code, _, err) = exec_cli(&agent, &["-task", "nope", &raw, "true"], b"");
    assert_ne!(code, 0);
    assert!(err.contains("unknown task \"nope\""), "{err}");
    let (status, body) = get_text(
        &agent,
        &format!("/v1/client/allocation/{raw}/exec?command=notjson"),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("command"), "{body}");

    // The raw protocol, with the token in a handshake message as the web UI sends it.
    let frames = raw_session(
        &agent,
        &raw,
        &["/bin/sh", "-c", "read line; echo got:$line; exit 7"],
    );
    assert_eq!(frames.0, "got:hello\n");
    assert_eq!(frames.1, 7);

    // With a tty, a tty_size frame sizes the terminal the command sees.
    let (out, code) = tty_session(&agent, &raw, 33, 101, b"stty size; exit 3\n");
    assert!(out.contains("33 101"), "{out}");
    assert_eq!(code, 3, "{out}");
}

/// A `tty=true` session over the websocket: sends a `tty_size` frame, then `input`;
/// returns everything the terminal printed and the exit code.
fn tty_session(
    agent: &impl HasHttp,
    alloc: &str,
    height: u16,
    width: u16,
    input: &[u8],
) -> (String, i32) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let command = serde_json::to_string(&["/bin/sh"]).unwrap();
        let url = format!(
            "{}/v1/client/allocation/{alloc}/exec?task=t&tty=true&command={}",
            agent.http(),
            percent_encode(&command)
        );
        let mut ws = orch_daemon::ws::connect(&url, None, &[]).await.unwrap();
        let size = ExecInput {
            tty_size: Some(orch_daemon::ws::exec_frames::TerminalSize { height, width }),
            ..ExecInput::default()
        };
        ws.send(text(&size)).await.unwrap();
        let data = ExecInput {
            stdin: Some(IoOperation {
                data: input.to_vec(),
                close: false,
            }),
            ..ExecInput::default()
        };
        ws.send(text(&data)).await.unwrap();
        let mut seen = String::new();
        while let Some(Ok(m)) = ws.next().await {
            let Message::Text(t) = m else { continue };
            let out: ExecOutput = serde_json::from_str(t.as_str()).unwrap();
            if let Some(op) = out.stdout {
                seen.push_str(&String::from_utf8_lossy(&op.data));
            }
            if out.exited {
                return (seen, out.result.unwrap().exit_code);
            }
        }
        panic!("the tty session ended without an exit code; output so far: {seen}");
    })
}

/// A session over the websocket itself: sends `hello\n`, closes stdin, returns the
/// stdout it got and the exit code.
fn raw_session(agent: &impl HasHttp, alloc: &str, command: &[&str]) -> (String, i32) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let command = serde_json::to_string(command).unwrap();
        let url = format!(
            "{}/v1/client/allocation/{alloc}/exec?task=t&ws_handshake=true&command={}",
            agent.http(),
            percent_encode(&command)
        );
        let mut ws = orch_daemon::ws::connect(&url, None, &[]).await.unwrap();
        ws.send(text(&Handshake {
            version: 1,
            auth_token: String::new(),
        }))
        .await
        .unwrap();
        let input = |data: &[u8], close: bool| ExecInput {
            stdin: Some(IoOperation {
                data: data.to_vec(),
                close,
            }),
            ..ExecInput::default()
        };
        ws.send(text(&input(b"hello\n", false))).await.unwrap();
        ws.send(text(&input(b"", true))).await.unwrap();
        let mut stdout = String::new();
        while let Some(Ok(m)) = ws.next().await {
            let Message::Text(t) = m else { continue };
            let out: ExecOutput = serde_json::from_str(t.as_str()).unwrap();
            if let Some(op) = out.stdout {
                stdout.push_str(&String::from_utf8_lossy(&op.data));
            }
            if out.exited {
                return (stdout, out.result.unwrap().exit_code);
            }
        }
        panic!("the session ended without an exit code; stdout so far: {stdout}");
    })
}

/// A JSON text message.
fn text<T: serde::Serialize>(v: &T) -> Message {
    Message::Text(serde_json::to_string(v).unwrap().into())
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn alloc_exec_through_a_server_reaches_the_client_agent_running_the_task() {
    let dir = temp_dir("alloc-exec-fwd");
    let server = start_server(&dir, "s1");
    let client = start_client(&dir, &server, "c1");
    wait_for(WAIT, "the client node ready", || {
        let (_, nodes) = get(&server, "/v1/nodes");
        nodes
            .as_array()?
            .iter()
            .any(|n| n["Status"] == "ready")
            .then_some(())
    });
    let raw_only = JOB.split("  group \"iso\"").next().unwrap().to_string() + "}\n";
    run_hcl(&server, &raw_only);
    let alloc = running_alloc(&server, "shell", "raw");
    // Through the server (it relays to the client agent's HTTP API).
    let (code, out, err) = exec_cli(&server, &[&alloc, "sh", "-c", "echo relayed; exit 4"], b"");
    assert_eq!((code, out.as_str()), (4, "relayed\n"), "{err}");
    drop(client);
}

#[test]
fn alloc_exec_runs_a_command_in_a_docker_task() {
    docker_env::images();
    let dir = temp_dir("alloc-exec-docker");
    let cfg = docker_env::plugin_config(&dir, "");
    let agent = start(&dir, &["-dev", "-config", cfg.to_str().unwrap()]);
    wait_leader(&agent);
    let _clean = docker_env::Cleanup::job("boxed");
    run_hcl(
        &agent,
        &format!(
            r#"
job "boxed" {{
  group "g" {{
    task "c" {{
      driver = "docker"
      config {{
        image   = "{}"
        command = "/bin/sh"
        args    = ["-c", "echo inside > /tmp/marker; while true; do sleep 1; done"]
      }}
      resources {{
        memory = 32
      }}
    }}
  }}
}}
"#,
            docker_env::BUSYBOX
        ),
    );
    let alloc = running_alloc(&agent, "boxed", "g");
    let (code, out, err) = wait_for(WAIT, "the container's marker file", || {
        let r = exec_cli(
            &agent,
            &[&alloc, "sh", "-c", "cat /tmp/marker; exit 6"],
            b"",
        );
        (r.1.contains("inside")).then_some(r)
    });
    assert_eq!((code, out.as_str()), (6, "inside\n"), "{err}");
    let (code, out, _) = exec_cli(&agent, &[&alloc, "cat"], b"through stdin\n");
    assert_eq!((code, out.as_str()), (0, "through stdin\n"));
}

/// A client token holding one policy with `capabilities` in the default namespace.
fn token_with(agent: &Agent, mgmt: &str, name: &str, capabilities: &str) -> String {
    let rules = format!("namespace \"default\" {{\n  capabilities = [{capabilities}]\n}}\n");
    let (status, body) = send_token(
        agent,
        "POST",
        &format!("/v1/acl/policy/{name}"),
        mgmt,
        serde_json::json!({"Name": name, "Rules": rules}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = send_token(
        agent,
        "POST",
        "/v1/acl/token",
        mgmt,
        serde_json::json!({"Name": name, "Type": "client", "Policies": [name]}),
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["SecretID"].as_str().unwrap().to_string()
}

#[test]
fn alloc_exec_needs_alloc_exec_and_for_raw_exec_alloc_node_exec() {
    let dir = temp_dir("alloc-exec-acl");
    let config = dir.join("acl.hcl");
    std::fs::write(&config, "acl {\n  enabled = true\n}\n").unwrap();
    let agent = start(&dir, &["-dev", "-config", config.to_str().unwrap()]);
    wait_leader(&agent);
    let (status, body) = send_token(
        &agent,
        "POST",
        "/v1/acl/bootstrap",
        "",
        serde_json::json!({}),
    );
    assert_eq!(status, 200, "{body}");
    let mgmt: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mgmt = mgmt["SecretID"].as_str().unwrap().to_string();
    let raw_only = JOB.split("  group \"iso\"").next().unwrap().to_string() + "}\n";
    let (status, body) = send_token(
        &agent,
        "PUT",
        "/v1/jobs",
        &mgmt,
        serde_json::json!({"Job": orch_parse(&raw_only)}),
    );
    assert_eq!(status, 200, "{body}");
    let alloc = wait_for(WAIT, "the running allocation", || {
        let (_, body) = send_token(
            &agent,
            "GET",
            "/v1/job/shell/allocations",
            &mgmt,
            serde_json::Value::Null,
        );
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v.as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == "running")
            .and_then(|a| a["ID"].as_str().map(str::to_string))
    });
    let exec_as = |token: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_orch"))
            .args(["alloc", "exec", "-i=false", &alloc, "echo", "allowed"])
            .env("ORCH_ADDR", agent.http())
            .env("NOMAD_TOKEN", token)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let reader = token_with(&agent, &mgmt, "reader", "\"read-job\"");
    let (code, _, err) = exec_as(&reader);
    assert_ne!(code, 0);
    assert!(err.contains("Permission denied"), "{err}");
    // alloc-exec alone does not reach a raw_exec task (it runs on the host itself).
    let exec_only = token_with(&agent, &mgmt, "exec-only", "\"read-job\", \"alloc-exec\"");
    let (code, _, err) = exec_as(&exec_only);
    assert_ne!(code, 0);
    assert!(err.contains("Permission denied"), "{err}");
    let node_exec = token_with(
        &agent,
        &mgmt,
        "node-exec",
        "\"read-job\", \"alloc-exec\", \"alloc-node-exec\"",
    );
    let (code, out, err) = exec_as(&node_exec);
    assert_eq!((code, out.as_str()), (0, "allowed\n"), "{err}");
}

/// Quick commands whose stdin ends at once, several at a time: the caller's stdin close
/// arrives while the session closes, which must not reset the connection and lose the
/// output or the exit code (5 in 100 did before the server waited for the Close).
#[test]
fn quick_sessions_end_with_their_output_and_exit_code() {
    let dir = temp_dir("alloc-exec-close");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    run_hcl(&agent, JOB);
    let raw = running_alloc(&agent, "shell", "raw");
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..25)
                        .map(|_| {
                            exec_cli(
                                &agent,
                                &["-task", "t", &raw, "/bin/sh", "-c", "printf x; exit 4"],
                                b"",
                            )
                        })
                        .filter(|(code, out, _)| (*code, out.as_str()) != (4, "x"))
                        .map(|(code, out, err)| format!("{code} {out:?} {err}"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of 100 failed: {failures:?}",
        failures.len()
    );
}
