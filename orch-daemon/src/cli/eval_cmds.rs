//! `orch eval list|status` and `orch alloc status`.

use std::process::ExitCode;

use super::api::{ApiClient, encode, parse_args};
use super::table::{columns, failed_groups, kv, short, text, time_of};

const EVAL_USAGE: &str = "Usage: orch eval <subcommand> [options] [args]

Subcommands:
    list    List evaluations
    status  Display an evaluation's status and placement failures";

const LIST_HELP: &str = "Usage: orch eval list [options]

Options:
  -job=<id>        Only evaluations of this job
  -status=<s>      Only evaluations with this status (pending, blocked, complete, ...)
  -json            Print the raw API JSON";

const STATUS_HELP: &str = "Usage: orch eval status [options] <eval>

  Details of an evaluation (ID or unique prefix) and why placements failed.

Options:
  -json  Print the raw API JSON";

const ALLOC_USAGE: &str = "Usage: orch alloc <subcommand> [options] [args]

Subcommands:
    status  Display an allocation's status
    logs    Stream the logs of a task";

const ALLOC_LOGS_HELP: &str = "Usage: orch alloc logs [options] <alloc> [<task>]

  Prints a task's stdout (or stderr) from its allocation's client. The task may be
  omitted when the allocation's group has a single task.

Options:
  -stderr   Show stderr instead of stdout
  -f        Follow: keep printing new output until interrupted
  -tail     Start from the end of the logs (with -n or -c)
  -n <N>    With -tail, the last N lines (default 10)
  -c <B>    With -tail, the last B bytes
  -task <T> The task (instead of the second argument)";

const ALLOC_STATUS_HELP: &str = "Usage: orch alloc status [options] <alloc>

  Details of an allocation (ID or unique prefix).

Options:
  -json  Print the raw API JSON";

/// Dispatches `orch eval <verb>`.
pub fn run_eval(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("list") => list(rest),
        Some("status") => status(rest),
        Some("-h" | "-help" | "--help" | "help") | None => {
            println!("{EVAL_USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!(
            "unknown command `orch eval {other}`\n\n{EVAL_USAGE}"
        )),
    }
}

/// Dispatches `orch alloc <verb>`.
pub fn run_alloc(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("status") => alloc_status(rest),
        Some("logs") => alloc_logs(rest),
        Some("-h" | "-help" | "--help" | "help") | None => {
            println!("{ALLOC_USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!(
            "unknown command `orch alloc {other}`\n\n{ALLOC_USAGE}"
        )),
    }
}

fn list(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("job", true), ("status", true), ("verbose", false)];
    let Some(p) = parse_args(args, &flags, LIST_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let mut query = Vec::new();
    if let Some(j) = p.all("job").last() {
        query.push(format!("job={}", encode(j)));
    }
    if let Some(s) = p.all("status").last() {
        query.push(format!("status={}", encode(s)));
    }
    let path = if query.is_empty() {
        "/v1/evaluations".to_string()
    } else {
        format!("/v1/evaluations?{}", query.join("&"))
    };
    let evals = client.get(&path)?;
    if p.has("json") {
        return super::print_json(&evals);
    }
    let mut list = evals.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No evals found");
        return Ok(ExitCode::SUCCESS);
    }
    list.sort_by_key(|e| std::cmp::Reverse(e["CreateIndex"].as_u64().unwrap_or(0)));
    let mut rows = vec![
        [
            "ID",
            "Priority",
            "Triggered By",
            "Job ID",
            "Namespace",
            "Node ID",
            "Status",
            "Placement Failures",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in &list {
        let failures = e["FailedTGAllocs"]
            .as_object()
            .is_some_and(|o| !o.is_empty());
        rows.push(vec![
            short(&text(&e["ID"])),
            text(&e["Priority"]),
            text(&e["TriggeredBy"]),
            text(&e["JobID"]),
            text(&e["Namespace"]),
            short(&text(&e["NodeID"])),
            text(&e["Status"]),
            failures.to_string(),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}

fn status(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[("verbose", false), ("monitor", false)], STATUS_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [id] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes one argument: <eval>\n\n{STATUS_HELP}"
        ));
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/evaluations", "evaluation", id)?;
    if p.has("monitor") {
        return Ok(ExitCode::from(super::monitor::monitor(&client, &id)?));
    }
    let e = client.get(&format!("/v1/evaluation/{}", encode(&id)))?;
    if p.has("json") {
        return super::print_json(&e);
    }
    let failed = &e["FailedTGAllocs"];
    let has_failures = failed.as_object().is_some_and(|o| !o.is_empty());
    println!(
        "{}",
        kv(&[
            ("ID", text(&e["ID"])),
            ("Create Time", time_of(&e["CreateTime"])),
            ("Modify Time", time_of(&e["ModifyTime"])),
            ("Status", text(&e["Status"])),
            ("Status Description", text(&e["StatusDescription"])),
            ("Type", text(&e["Type"])),
            ("TriggeredBy", text(&e["TriggeredBy"])),
            ("Job ID", text(&e["JobID"])),
            ("Namespace", text(&e["Namespace"])),
            ("Priority", text(&e["Priority"])),
            ("Placement Failures", has_failures.to_string()),
            ("Previous Eval", text(&e["PreviousEval"])),
            ("Next Eval", text(&e["NextEval"])),
            ("Blocked Eval", text(&e["BlockedEval"])),
        ])
    );
    if has_failures {
        println!("\nFailed Placements");
        for line in failed_groups(failed, "") {
            println!("{line}");
        }
        let blocked = text(&e["BlockedEval"]);
        if !blocked.is_empty() {
            println!(
                "\nEvaluation {:?} waiting for additional capacity to place remainder",
                short(&blocked)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn alloc_status(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[("verbose", false)], ALLOC_STATUS_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [id] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes one argument: <alloc>\n\n{ALLOC_STATUS_HELP}"
        ));
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/allocations", "allocation", id)?;
    let a = client.get(&format!("/v1/allocation/{}", encode(&id)))?;
    if p.has("json") {
        return super::print_json(&a);
    }
    println!(
        "{}",
        kv(&[
            ("ID", text(&a["ID"])),
            ("Eval ID", short(&text(&a["EvalID"]))),
            ("Name", text(&a["Name"])),
            ("Node ID", short(&text(&a["NodeID"]))),
            ("Node Name", text(&a["NodeName"])),
            ("Job ID", text(&a["JobID"])),
            ("Job Version", text(&a["Job"]["Version"])),
            ("ApiClient Status", text(&a["ClientStatus"])),
            ("ApiClient Description", text(&a["ClientDescription"])),
            ("Desired Status", text(&a["DesiredStatus"])),
            ("Desired Description", text(&a["DesiredDescription"])),
            ("Created", time_of(&a["CreateTime"])),
            ("Modified", time_of(&a["ModifyTime"])),
        ])
    );
    if let Some(states) = a["TaskStates"].as_object() {
        for (task, st) in states {
            println!("\nTask {task:?} is {:?}", text(&st["State"]));
            let events = st["Events"].as_array().cloned().unwrap_or_default();
            if !events.is_empty() {
                let mut rows = vec![["Time", "Type", "Description"].map(String::from).to_vec()];
                for ev in &events {
                    rows.push(vec![
                        time_of(&ev["Time"]),
                        text(&ev["Type"]),
                        text(&ev["DisplayMessage"]),
                    ]);
                }
                println!("Recent Events:\n{}", columns(&rows));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn alloc_logs(args: &[String]) -> Result<ExitCode, String> {
    let flags = [
        ("stderr", false),
        ("f", false),
        ("tail", false),
        ("n", true),
        ("c", true),
        ("task", true),
        ("verbose", false),
    ];
    let Some(p) = parse_args(args, &flags, ALLOC_LOGS_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (id, task_arg) = match p.positional.as_slice() {
        [id] => (id, None),
        [id, task] => (id, Some(task.clone())),
        _ => {
            return Err(format!(
                "this command takes one or two arguments: <alloc> [<task>]\n\n{ALLOC_LOGS_HELP}"
            ));
        }
    };
    let number = |name: &str| -> Result<Option<u64>, String> {
        p.all(name)
            .last()
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("-{name}: expected a number, got {v:?}"))
            })
            .transpose()
    };
    let lines = number("n")?;
    let bytes = number("c")?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/allocations", "allocation", id)?;
    let task = match task_arg.or_else(|| p.all("task").last().cloned()) {
        Some(t) => t,
        None => {
            let a = client.get(&format!("/v1/allocation/{}", encode(&id)))?;
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
                [one] => one.clone(),
                _ => {
                    return Err(format!(
                        "the allocation has several tasks ({}); name one: orch alloc logs {} <task>",
                        tasks.join(", "),
                        short(&id)
                    ));
                }
            }
        }
    };
    let kind = if p.has("stderr") { "stderr" } else { "stdout" };
    let mut path = format!(
        "/v1/client/fs/logs/{}?task={}&type={kind}&plain=true",
        encode(&id),
        encode(&task)
    );
    if p.has("f") {
        path.push_str("&follow=true");
    }
    let mut stdout = std::io::stdout();
    if p.has("tail") || lines.is_some() || bytes.is_some() {
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
        use std::io::Write;
        let _ = stdout.write_all(&buf[start..]);
        if p.has("f") {
            // Continue from where the snapshot ended.
            client.stream(&format!("{path}&origin=end&offset=0"), &mut stdout)?;
        }
    } else {
        client.stream(&path, &mut stdout)?;
    }
    Ok(ExitCode::SUCCESS)
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
