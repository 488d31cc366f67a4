//! `orch alloc logs`: prints (or with `-f` follows) a task's stdout or stderr from its
//! allocation's client, optionally only its tail.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};
use crate::cli::table::{short, text};

const USAGE: &str = "Usage: orch alloc logs [options] <allocation> <task>

  Streams the stdout/stderr of the given allocation and task. The task may be
  omitted when the allocation's group has a single task.

Logs Specific Options:

  -stdout
    Display stdout logs. This is used as the default value in all commands
    except when using the \"-f\" flag where both stdout and stderr are used as
    default.

  -stderr
    Display stderr logs.

  -verbose
    Show full information.

  -task <task-name>
    Sets the task to view the logs.

  -job <job-id>
    Use a random allocation from the specified job ID or prefix.

  -group <group-name>
    Specifies the task group where the task is located when a random
    allocation is selected (with -job).

  -f
    Causes the output to not stop when the end of the logs are reached, but
    rather to wait for additional output. When supplied with no other flags
    except optionally \"-job\" and \"-task\", both stdout and stderr logs will
    be followed (stderr on standard error).

  -tail
    Show the logs contents with offsets relative to the end of the logs. If no
    offset is given, -n is defaulted to 10.

  -n
    Sets the tail location in best-efforted number of lines relative to the end
    of the logs.

  -c
    Sets the tail location in number of bytes relative to the end of the logs.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("stdout"),
    FlagSpec::switch("stderr"),
    FlagSpec::switch("f"),
    FlagSpec::switch("tail"),
    FlagSpec::value("n"),
    FlagSpec::value("c"),
    FlagSpec::value("task"),
    FlagSpec::switch("job"),
    FlagSpec::value("group"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch alloc logs`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if p.has("stdout") && p.has("stderr") {
        return Err("Unable to support both stdout and stderr".into());
    }
    let (id, task) = super::alloc_and_task(&p, USAGE)?;
    let lines = number(&p, "n")?;
    let bytes = number(&p, "c")?;
    let client = ApiClient::from_flags(&p)?;
    let id = if p.has("job") {
        super::alloc_of_job(&client, &id, &p)?
    } else {
        client.resolve("/v1/allocations", "allocation", &id)?
    };
    let task = match task {
        Some(t) => t,
        None => only_task(&client, &id)?,
    };
    let tailing = p.has("tail") || lines.is_some() || bytes.is_some();
    let path = |kind: &str| {
        let follow = if p.has("f") { "&follow=true" } else { "" };
        format!(
            "/v1/client/fs/logs/{}?task={}&type={kind}&plain=true{follow}",
            encode(&id),
            encode(&task)
        )
    };
    if p.has("f") && !(p.has("stdout") || p.has("stderr") || tailing) {
        return follow_both(&p, &client, &path("stdout"), &path("stderr"));
    }
    let kind = if p.has("stderr") { "stderr" } else { "stdout" };
    if tailing {
        print_tail(&client, &path(kind), lines, bytes, p.has("f"))?;
    } else {
        client.stream(&path(kind), &mut std::io::stdout())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `-f` alone: stdout followed to standard output and stderr to standard error at
/// once (the second stream on its own client and thread), until either ends.
fn follow_both(
    p: &Parsed,
    client: &ApiClient,
    stdout_path: &str,
    stderr_path: &str,
) -> Result<ExitCode, String> {
    let errors = ApiClient::from_flags(p)?;
    let stderr_path = stderr_path.to_string();
    let other = std::thread::spawn(move || {
        errors
            .stream(&stderr_path, &mut std::io::stderr())
            .map_err(String::from)
    });
    client.stream(stdout_path, &mut std::io::stdout())?;
    other
        .join()
        .map_err(|_| "the stderr stream failed".to_string())??;
    Ok(ExitCode::SUCCESS)
}

/// The value of a numeric flag (`-n`, `-c`), when given.
fn number(p: &Parsed, name: &str) -> Result<Option<u64>, String> {
    p.all(name)
        .last()
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| format!("-{name}: expected a number, got {v:?}"))
        })
        .transpose()
}

/// The task of an allocation whose group has exactly one; otherwise an error naming them.
fn only_task(client: &ApiClient, id: &str) -> Result<String, String> {
    let a = client.get(&format!("/v1/allocation/{}", encode(id)))?;
    let group = text(&a["TaskGroup"]);
    let tasks: Vec<String> = a["Job"]["TaskGroups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["Name"] == group.as_str())
        .flat_map(|g| g["Tasks"].as_array().cloned().unwrap_or_default())
        .map(|t| text(&t["Name"]))
        .collect();
    match tasks.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "the allocation has several tasks ({}); name one: orch alloc logs {} <task>",
            tasks.join(", "),
            short(id)
        )),
    }
}

/// The last `lines` lines (or `bytes` bytes) of the log at `path`, then with `follow`
/// what comes after them.
fn print_tail(
    client: &ApiClient,
    path: &str,
    lines: Option<u64>,
    bytes: Option<u64>,
    follow: bool,
) -> Result<(), String> {
    let mut stdout = std::io::stdout();
    // Nomad reads the last bytes, then trims to the last N lines.
    let want_lines = if bytes.is_some() {
        None
    } else {
        Some(lines.unwrap_or(10))
    };
    let window = bytes.unwrap_or(64 * 1024);
    let mut buf = Vec::new();
    client.stream(
        &format!("{path}&origin=end&offset={window}").replace("&follow=true", ""),
        &mut buf,
    )?;
    let start = match want_lines {
        Some(n) => tail_lines_start(&buf, n as usize),
        None => 0,
    };
    let _ = stdout.write_all(&buf[start..]);
    if follow {
        // Continue from where the snapshot ended.
        client.stream(&format!("{path}&origin=end&offset=0"), &mut stdout)?;
    }
    Ok(())
}

/// Where the last `n` lines of `buf` begin.
fn tail_lines_start(buf: &[u8], n: usize) -> usize {
    let body = buf.strip_suffix(b"\n").unwrap_or(buf);
    let mut seen = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return i + 1;
            }
        }
    }
    0
}
