//! `orch var lock [options] <path> [@spec] child...` (or `@spec child...`): holds a
//! lock on a variable while a child command runs, as Nomad's `var lock` does. The lock
//! is acquired (waiting while another holder has it), renewed at half its TTL, and
//! released when the child exits; if it is lost (renewals failing more than
//! `-max-retry` times, or the servers saying another holder has it) the child is
//! terminated. The exit code is the child's.

use std::process::{Child, ExitCode};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};

const USAGE: &str = "Usage: orch var lock [options] <path> [<variable spec file>] child...
       orch var lock [options] <lock spec file> child...

  Hold a lock on the variable at <path> (created when missing, with the items of
  the spec file) and run child while it is held. The lock is renewed at half its
  TTL and released when child exits; child is terminated if the lock is lost.

Lock Options:

  -ttl <duration>
    Lifetime of the lock between renewals (default 15s).

  -delay <duration>
    How long the variable cannot be locked again after a lock expires (default 15s).

  -max-retry <n>
    Renewal failures in a row tolerated before the lock counts as lost (default 5).

  -shell
    Run child through $SHELL (or /bin/sh) -c (default true; -shell=false runs it
    directly).

  -verbose
    Report the lock's progress on standard error.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("ttl"),
    FlagSpec::value("delay"),
    FlagSpec::value("max-retry"),
    FlagSpec::switch("shell"),
    FlagSpec::switch("verbose"),
];

/// How long between two tries to acquire a lock another holder has.
const ACQUIRE_RETRY: Duration = Duration::from_secs(1);

/// The lock's settings from the flags.
struct LockSettings {
    ttl: Duration,
    delay: Duration,
    max_retry: u32,
    verbose: bool,
}

/// Runs `orch var lock`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let settings = settings(&p)?;
    let (path, mut body, child_args) = target(&p)?;
    let api = ApiClient::from_flags(&p)?;
    if let Some(ns) = api.namespace() {
        body["Namespace"] = json!(ns);
    }
    body["Path"] = json!(path);
    let go = |d: Duration| {
        orch_core::duration::format_go_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    };
    body["Lock"] = json!({ "TTL": go(settings.ttl), "LockDelay": go(settings.delay) });
    let url = super::var_path(&path);
    let lock_id = acquire(&api, &url, &body, &settings)?;
    let shell = !p.flags.contains_key("shell") || p.has("shell");
    let mut child = match spawn(&child_args, shell) {
        Ok(c) => c,
        Err(e) => {
            let _ = release(&api, &url, &path, &lock_id);
            return Err(e);
        }
    };
    let outcome = hold(&api, &url, &path, &lock_id, &settings, &mut child);
    let released = release(&api, &url, &path, &lock_id);
    match outcome {
        Held::Exited(code) => {
            if let Err(e) = released {
                eprintln!("Error releasing the lock on {path:?}: {e}");
            }
            Ok(ExitCode::from(code))
        }
        Held::Lost(why) => Err(format!("Lock on {path:?} lost ({why}); child terminated")),
    }
}

fn settings(p: &Parsed) -> Result<LockSettings, String> {
    let dur = |name: &str, default: Duration| -> Result<Duration, String> {
        match p.last(name) {
            None => Ok(default),
            Some(s) => orch_core::duration::parse_go_duration(s)
                .ok()
                .filter(|n| *n >= 0)
                .map(|n| Duration::from_nanos(n.unsigned_abs()))
                .ok_or_else(|| format!("-{name} {s:?}: expected a duration such as \"15s\"")),
        }
    };
    let max_retry = match p.last("max-retry") {
        None => 5,
        Some(s) => s
            .parse()
            .map_err(|_| format!("-max-retry {s:?}: expected a number"))?,
    };
    Ok(LockSettings {
        ttl: dur("ttl", Duration::from_secs(15))?,
        delay: dur("delay", Duration::from_secs(15))?,
        max_retry,
        verbose: p.has("verbose"),
    })
}

/// The variable's path, the request body (items from a spec file) and the child.
fn target(p: &Parsed) -> Result<(String, Value, Vec<String>), String> {
    let args = &p.positional;
    let (mut path, rest) = match args.first() {
        Some(first) if first.starts_with('@') => (String::new(), &args[..]),
        Some(first) => (first.trim_start_matches('/').to_string(), &args[1..]),
        None => return Err(format!("Not enough arguments\n\n{USAGE}")),
    };
    let mut body = json!({});
    let mut rest = rest;
    if let Some(spec) = rest.first().filter(|a| a.starts_with('@')) {
        let (spec_path, spec_body) = super::put::read_spec(spec, None)?;
        if path.is_empty() {
            path = spec_path.trim_start_matches('/').to_string();
        }
        if spec_body["Items"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
        {
            body = spec_body;
        }
        rest = &rest[1..];
    }
    if path.is_empty() {
        return Err(format!("A variable path is required\n\n{USAGE}"));
    }
    if rest.is_empty() {
        return Err(format!("A child command is required\n\n{USAGE}"));
    }
    Ok((path, body, rest.to_vec()))
}

/// Acquires the lock, waiting while another holder has it; the lock's ID.
fn acquire(api: &ApiClient, url: &str, body: &Value, s: &LockSettings) -> Result<String, String> {
    let mut waited = false;
    loop {
        match api.put(&format!("{url}?lock-acquire"), body) {
            Ok(v) => {
                let id = v["Lock"]["ID"].as_str().unwrap_or_default().to_string();
                if id.is_empty() {
                    return Err("the servers acquired no lock ID; upgrade the servers".into());
                }
                if s.verbose {
                    eprintln!("Lock acquired on {:?} (ID {id})", body["Path"]);
                }
                return Ok(id);
            }
            Err(e) if e.status == 409 => {
                if s.verbose && !waited {
                    eprintln!("Variable {:?} is locked; waiting for it", body["Path"]);
                }
                waited = true;
                std::thread::sleep(ACQUIRE_RETRY);
            }
            Err(e) => return Err(format!("Error acquiring the lock: {}", e.message)),
        }
    }
}

/// Starts the child, through the shell or directly.
fn spawn(args: &[String], shell: bool) -> Result<Child, String> {
    let mut cmd = if shell {
        let sh = std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        let mut c = std::process::Command::new(sh);
        c.arg("-c").arg(args.join(" "));
        c
    } else {
        let mut c = std::process::Command::new(&args[0]);
        c.args(&args[1..]);
        c
    };
    cmd.spawn()
        .map_err(|e| format!("Error starting child {:?}: {e}", args.join(" ")))
}

/// How holding the lock ended.
enum Held {
    /// The child exited with this code.
    Exited(u8),
    /// The lock was lost; the child was terminated.
    Lost(String),
}

/// Renews the lock at half its TTL until the child exits or the lock is lost.
fn hold(
    api: &ApiClient,
    url: &str,
    path: &str,
    id: &str,
    s: &LockSettings,
    child: &mut Child,
) -> Held {
    let every = (s.ttl / 2).max(Duration::from_millis(500));
    let mut next = Instant::now() + every;
    let mut failures = 0u32;
    let body = json!({"Path": path, "Lock": {"ID": id}});
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Held::Exited(exit_code(status)),
            Ok(None) => {}
            Err(e) => return Held::Lost(format!("cannot wait for the child: {e}")),
        }
        if Instant::now() >= next {
            match api.put(&format!("{url}?lock-renew"), &body) {
                Ok(_) => failures = 0,
                Err(e) if e.status == 409 || e.status == 404 => {
                    terminate(child);
                    return Held::Lost(e.message);
                }
                Err(e) => {
                    failures += 1;
                    if failures > s.max_retry {
                        terminate(child);
                        return Held::Lost(e.message);
                    }
                }
            }
            next = Instant::now() + every;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM, a grace of 5 s, then SIGKILL.
fn terminate(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn release(api: &ApiClient, url: &str, path: &str, id: &str) -> Result<(), String> {
    let body = json!({"Path": path, "Lock": {"ID": id}});
    api.put(&format!("{url}?lock-release"), &body)
        .map(|_| ())
        .map_err(|e| e.message)
}

/// The child's exit code; 128 + the signal for one killed by a signal (as shells do).
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(1),
        _ => 1,
    }
}
