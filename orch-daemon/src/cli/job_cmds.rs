//! `orch job status|stop|inspect|history|revert|scale|plan|dispatch|periodic`: the job
//! verbs that talk to an agent.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::client::{Client, encode, parse_args};
use super::dispatch_cmds::next_periodic_launch;
use super::flags::Parsed;
use super::monitor::monitor;
use super::table::{columns, failed_groups, kv, now_nanos, short, text, time_of};

const STATUS_HELP: &str = "Usage: orch job status [options] [<job>]

  Without a job: a table of every job. With a job ID (or unique prefix): its details,
  summary per task group and allocations.

Options:
  -address=<url>  Agent address (default: ORCH_ADDR, NOMAD_ADDR, http://127.0.0.1:4646)
  -json           Print the raw API JSON";

const STOP_HELP: &str = "Usage: orch job stop [options] <job>

  Stops a job (and with -purge removes it), then monitors the deregistration evaluation.

Options:
  -purge   Remove the job from the state entirely
  -detach  Return right after the stop, printing the evaluation ID
  -yes     Accepted for compatibility (orch does not prompt)";

const INSPECT_HELP: &str = "Usage: orch job inspect [options] <job>

  Prints the job as submitted to the agent, as JSON ({\"Job\": ...}).";

const HISTORY_HELP: &str = "Usage: orch job history [options] <job>

  Lists the tracked versions of a job, newest first.

Options:
  -p                 Show each version's differences from its predecessor
  -full              Print each version's full job (JSON)
  -version=<n>       Only this version
  -verbose           With -p, also list unchanged job, group and task fields
  -json              Print the raw API JSON";

const REVERT_HELP: &str = "Usage: orch job revert [options] <job> <version>

  Reverts the job to a prior version and monitors the evaluation.

Options:
  -detach  Return right after the revert, printing the evaluation ID";

const SCALE_HELP: &str = "Usage: orch job scale [options] <job> [<group>] <count>

  Sets the count of a task group (the group may be left out when the job has one).

Options:
  -detach  Return right after the change, printing the evaluation ID";

const PLAN_HELP: &str = "Usage: orch job plan [options] <path>

  Dry-runs the jobspec against the cluster's current state and prints what would change.
  Exit codes (as Nomad's): 0 no allocations created or destroyed, 1 allocations created
  or destroyed, 255 error.

Options:
  -var 'k=v'     Set an HCL variable (repeatable)
  -var-file=<f>  Read HCL variables from a file (repeatable)";

/// Runs `orch job <verb>` for the server verbs.
pub fn run(verb: &str, args: &[String], usage: &str) -> Result<ExitCode, String> {
    match verb {
        "status" => status(args),
        "stop" => stop(args),
        "inspect" => inspect(args),
        "history" => history(args),
        "revert" => revert(args),
        "scale" => scale(args),
        "scaling-events" => super::scaling_cmds::job_events(args),
        "plan" => plan(args),
        "dispatch" => super::dispatch_cmds::dispatch(args),
        "periodic" => super::dispatch_cmds::periodic(args),
        other => Err(format!("unknown command `orch job {other}`\n\n{usage}")),
    }
}

use super::print_json;

fn one_arg<'a>(p: &'a Parsed, what: &str, help: &str) -> Result<&'a str, String> {
    match p.positional.as_slice() {
        [one] => Ok(one),
        _ => Err(format!(
            "this command takes one argument: <{what}>\n\n{help}"
        )),
    }
}

fn job_path(id: &str) -> String {
    format!("/v1/job/{}", encode(id))
}

fn status(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[("verbose", false), ("short", false)], STATUS_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = Client::from_flags(&p)?;
    let id = match p.positional.as_slice() {
        [] => return list_jobs(&client, p.has("json")),
        [id] => client.resolve("/v1/jobs", "job", id)?,
        _ => return Err(format!("expected at most one job ID\n\n{STATUS_HELP}")),
    };
    let job = client.get(&job_path(&id))?;
    let summary = client.get(&format!("{}/summary", job_path(&id)))?;
    let allocs = client.get(&format!("{}/allocations", job_path(&id)))?;
    if p.has("json") {
        return print_json(&json!({"Job": job, "Summary": summary, "Allocations": allocs}));
    }
    let periodic = job["Periodic"]["Enabled"].as_bool().unwrap_or(false);
    let datacenters = job["Datacenters"]
        .as_array()
        .map(|a| a.iter().map(text).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    let status = if job["Stop"].as_bool().unwrap_or(false) {
        "dead (stopped)".to_string()
    } else {
        text(&job["Status"])
    };
    let parameterized = !job["ParameterizedJob"].is_null();
    let mut basic = vec![
        ("ID", text(&job["ID"])),
        ("Name", text(&job["Name"])),
        ("Submit Date", time_of(&job["SubmitTime"])),
        ("Type", text(&job["Type"])),
        ("Priority", text(&job["Priority"])),
        ("Datacenters", datacenters),
        ("Namespace", text(&job["Namespace"])),
        ("Node Pool", text(&job["NodePool"])),
        ("Status", status),
        ("Periodic", periodic.to_string()),
        ("Parameterized", parameterized.to_string()),
    ];
    if periodic && !parameterized {
        if job["Stop"].as_bool().unwrap_or(false) {
            basic.push(("Next Periodic Launch", "none (job stopped)".into()));
        } else if let Some(next) = next_periodic_launch(&job["Periodic"], now_nanos()) {
            basic.push(("Next Periodic Launch", next));
        }
    }
    println!("{}", kv(&basic));
    println!("\nSummary");
    let mut rows = vec![
        [
            "Task Group",
            "Queued",
            "Starting",
            "Running",
            "Failed",
            "Complete",
            "Lost",
            "Unknown",
        ]
        .map(String::from)
        .to_vec(),
    ];
    if let Some(groups) = summary["Summary"].as_object() {
        for (g, s) in groups {
            let mut row = vec![g.clone()];
            for k in [
                "Queued", "Starting", "Running", "Failed", "Complete", "Lost", "Unknown",
            ] {
                row.push(s[k].as_u64().unwrap_or(0).to_string());
            }
            rows.push(row);
        }
    }
    println!("{}", columns(&rows));
    if let Some(evals) = client
        .get(&format!("{}/evaluations", job_path(&id)))?
        .as_array()
    {
        let blocked: Vec<&Value> = evals.iter().filter(|e| e["Status"] == "blocked").collect();
        for e in blocked {
            println!("\nPlacement Failure");
            for line in failed_groups(&e["FailedTGAllocs"], "") {
                println!("{line}");
            }
        }
    }
    let deployment = client.get(&format!("{}/deployment", job_path(&id)))?;
    if !deployment.is_null() {
        print_deployment(&deployment);
    }
    println!("\nAllocations");
    let list = allocs.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No allocations placed");
    } else {
        let mut rows = vec![
            [
                "ID",
                "Node ID",
                "Task Group",
                "Version",
                "Desired",
                "Status",
                "Created",
                "Modified",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for a in &list {
            rows.push(vec![
                short(&text(&a["ID"])),
                short(&text(&a["NodeID"])),
                text(&a["TaskGroup"]),
                text(&a["JobVersion"]),
                text(&a["DesiredStatus"]),
                text(&a["ClientStatus"]),
                time_of(&a["CreateTime"]),
                time_of(&a["ModifyTime"]),
            ]);
        }
        println!("{}", columns(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// Nomad's `Latest Deployment` block with its `Deployed` table.
fn print_deployment(d: &Value) {
    println!("\nLatest Deployment");
    println!(
        "{}",
        kv(&[
            ("ID", short(&text(&d["ID"]))),
            ("Status", text(&d["Status"])),
            ("Description", text(&d["StatusDescription"])),
        ])
    );
    let Some(groups) = d["TaskGroups"].as_object() else {
        return;
    };
    let mut rows = vec![
        [
            "Task Group",
            "Desired",
            "Placed",
            "Healthy",
            "Unhealthy",
            "Progress Deadline",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (g, s) in groups {
        let deadline = time_of(&s["RequireProgressBy"]);
        rows.push(vec![
            g.clone(),
            text(&s["DesiredTotal"]),
            text(&s["PlacedAllocs"]),
            text(&s["HealthyAllocs"]),
            text(&s["UnhealthyAllocs"]),
            if deadline.is_empty() {
                "N/A".into()
            } else {
                deadline
            },
        ]);
    }
    println!("\nDeployed\n{}", columns(&rows));
}

fn list_jobs(client: &Client, as_json: bool) -> Result<ExitCode, String> {
    let jobs = client.get("/v1/jobs")?;
    if as_json {
        return print_json(&jobs);
    }
    let list = jobs.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No running jobs");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        ["ID", "Type", "Priority", "Status", "Submit Date"]
            .map(String::from)
            .to_vec(),
    ];
    for j in &list {
        let status = if j["Stop"].as_bool().unwrap_or(false) {
            "dead (stopped)".to_string()
        } else {
            text(&j["Status"])
        };
        rows.push(vec![
            text(&j["ID"]),
            text(&j["Type"]),
            text(&j["Priority"]),
            status,
            time_of(&j["SubmitTime"]),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}

/// Prints the evaluation ID (with `-detach`) or monitors it.
pub(super) fn follow(client: &Client, reply: &Value, detach: bool) -> Result<ExitCode, String> {
    let eval_id = text(&reply["EvalID"]);
    if eval_id.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if detach {
        println!("{eval_id}");
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(monitor(client, &eval_id)?))
}

fn stop(args: &[String]) -> Result<ExitCode, String> {
    let flags = [
        ("purge", false),
        ("detach", false),
        ("yes", false),
        ("verbose", false),
        ("global", false),
    ];
    let Some(p) = parse_args(args, &flags, STOP_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = Client::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", one_arg(&p, "job", STOP_HELP)?)?;
    let purge = if p.has("purge") { "?purge=true" } else { "" };
    let reply = client.delete(&format!("{}{purge}", job_path(&id)))?;
    follow(&client, &reply, p.has("detach"))
}

fn inspect(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[("version", true)], INSPECT_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = Client::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", one_arg(&p, "job", INSPECT_HELP)?)?;
    let job = match p.all("version").last() {
        None => client.get(&job_path(&id))?,
        Some(v) => {
            let want: u64 = v
                .parse()
                .map_err(|_| format!("-version {v:?}: expected a version number"))?;
            let versions = client.get(&format!("{}/versions", job_path(&id)))?;
            versions["Versions"]
                .as_array()
                .and_then(|a| a.iter().find(|j| j["Version"].as_u64() == Some(want)))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "job {id:?} has no version {want}; list them with `orch job history {id}`"
                    )
                })?
        }
    };
    print_json(&json!({ "Job": job }))
}

fn history(args: &[String]) -> Result<ExitCode, String> {
    let flags = [
        ("p", false),
        ("full", false),
        ("version", true),
        ("verbose", false),
    ];
    let Some(p) = parse_args(args, &flags, HISTORY_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = Client::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", one_arg(&p, "job", HISTORY_HELP)?)?;
    let diffs = if p.has("p") { "?diffs=true" } else { "" };
    let versions = client.get(&format!("{}/versions{diffs}", job_path(&id)))?;
    if p.has("json") {
        return print_json(&versions);
    }
    let only: Option<u64> = match p.all("version").last() {
        Some(v) => Some(v.parse().map_err(|_| {
            format!("-version={v:?} is not a version number; see `orch job history {id}`")
        })?),
        None => None,
    };
    let list = versions["Versions"].as_array().cloned().unwrap_or_default();
    let diffs = versions["Diffs"].as_array().cloned().unwrap_or_default();
    let mut blocks: Vec<String> = Vec::new();
    for (i, j) in list.iter().enumerate() {
        if only.is_some_and(|v| j["Version"].as_u64() != Some(v)) {
            continue;
        }
        let mut block = kv(&[
            ("Version", text(&j["Version"])),
            ("Stable", j["Stable"].as_bool().unwrap_or(false).to_string()),
            ("Submit Date", time_of(&j["SubmitTime"])),
        ]);
        if let Some(d) = diffs.get(i).filter(|_| p.has("p")) {
            block.push_str("\nDiff =\n");
            block.push_str(&super::diff_fmt::format_job_diff(d, p.has("verbose")));
        }
        if p.has("full") {
            let full = serde_json::to_string_pretty(j)
                .map_err(|e| format!("cannot encode the job as JSON: {e}"))?;
            block.push_str("\nFull =\n");
            block.push_str(&full);
        }
        blocks.push(block);
    }
    if let (Some(v), true) = (only, blocks.is_empty()) {
        return Err(format!(
            "job {id:?} has no version {v}; run `orch job history {id}` to list them"
        ));
    }
    println!("{}", blocks.join("\n\n"));
    Ok(ExitCode::SUCCESS)
}

fn revert(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("detach", false), ("verbose", false)];
    let Some(p) = parse_args(args, &flags, REVERT_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [job, version] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes two arguments: <job> <version>\n\n{REVERT_HELP}"
        ));
    };
    let version: u64 = version
        .parse()
        .map_err(|_| format!("version {version:?} is not a number; see `orch job history`"))?;
    let client = Client::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", job)?;
    let reply = client.put(
        &format!("{}/revert", job_path(&id)),
        &json!({"JobID": id, "JobVersion": version}),
    )?;
    follow(&client, &reply, p.has("detach"))
}

fn scale(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("detach", false), ("verbose", false)];
    let Some(p) = parse_args(args, &flags, SCALE_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (job, group, count) = match p.positional.as_slice() {
        [job, count] => (job, None, count),
        [job, group, count] => (job, Some(group.clone()), count),
        _ => {
            return Err(format!(
                "this command takes two or three arguments: <job> [<group>] <count>\n\n{SCALE_HELP}"
            ));
        }
    };
    let count: i64 = count
        .parse()
        .map_err(|_| format!("count {count:?} is not a whole number"))?;
    let client = Client::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", job)?;
    let group = match group {
        Some(g) => g,
        None => {
            let spec = client.get(&job_path(&id))?;
            let names: Vec<String> = spec["TaskGroups"]
                .as_array()
                .map(|a| a.iter().map(|g| text(&g["Name"])).collect())
                .unwrap_or_default();
            match names.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(format!(
                        "job {id:?} has {} task groups ({}); name the one to scale: orch job scale {id} <group> {count}",
                        names.len(),
                        names.join(", ")
                    ));
                }
            }
        }
    };
    let reply = client.put(
        &format!("{}/scale", job_path(&id)),
        &json!({"Count": count, "Target": {"Job": id, "Group": group},
                "Message": "submitted using the orch CLI"}),
    )?;
    follow(&client, &reply, p.has("detach"))
}

/// `job plan`: errors exit 255, as Nomad's.
fn plan(args: &[String]) -> Result<ExitCode, String> {
    match plan_inner(args) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(ExitCode::from(255))
        }
    }
}

fn plan_inner(args: &[String]) -> Result<ExitCode, String> {
    let flags = [
        ("var", true),
        ("var-file", true),
        ("diff", false),
        ("verbose", false),
    ];
    let Some(p) = parse_args(args, &flags, PLAN_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let job = super::job::load_parsed(&p)?;
    let path = p.positional.first().cloned().unwrap_or_default();
    let client = Client::from_flags(&p)?;
    let body = json!({"Job": job, "Diff": true});
    let reply = client.put(&format!("{}/plan", job_path(&job.id)), &body)?;
    if p.has("json") {
        print_json(&reply)?;
    }
    let diff_type = text(&reply["Diff"]["Type"]);
    let updates = reply["Annotations"]["DesiredTGUpdates"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut changes = false;
    let mut group_lines = Vec::new();
    for (g, u) in &updates {
        let n = |k: &str| u[k].as_u64().unwrap_or(0);
        let mut parts = Vec::new();
        for (key, label) in [
            ("Place", "create"),
            ("Stop", "destroy"),
            ("Migrate", "migrate"),
            ("InPlaceUpdate", "in-place update"),
            ("DestructiveUpdate", "create/destroy update"),
            ("Canary", "canary"),
            ("Ignore", "ignore"),
        ] {
            if n(key) > 0 {
                parts.push(format!("{} {label}", n(key)));
            }
        }
        if ["Place", "Stop", "Migrate", "DestructiveUpdate", "Canary"]
            .iter()
            .any(|k| n(k) > 0)
        {
            changes = true;
        }
        let mark = match diff_type.as_str() {
            "Added" => "+",
            "Deleted" => "-",
            "Edited" => "+/-",
            _ => "",
        };
        let detail = if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        };
        group_lines.push(
            format!("{mark} Task Group: {g:?}{detail}")
                .trim()
                .to_string(),
        );
    }
    if !p.has("json") {
        let mark = match diff_type.as_str() {
            "Added" => "+ ",
            "Deleted" => "- ",
            "Edited" => "+/- ",
            _ => "",
        };
        println!("{mark}Job: {:?}", job.id);
        for l in &group_lines {
            println!("{l}");
        }
        println!("\nScheduler dry-run:");
        let failed = &reply["FailedTGAllocs"];
        if failed.as_object().is_some_and(|o| !o.is_empty()) {
            println!("- WARNING: Failed to place all allocations.");
            for line in failed_groups(failed, "  ") {
                println!("{line}");
            }
        } else {
            println!("- All tasks successfully allocated.");
        }
        let index = reply["JobModifyIndex"].as_u64().unwrap_or(0);
        println!("\nJob Modify Index: {index}");
        println!(
            "To submit the job with version verification run:\n\norch job run -check-index {index} {path}\n\nWhen running the job with the check-index flag, the job will only be run if the\njob modify index given matches the server-side version. If the index has\nchanged, another user has modified the job and the plan's results are\npotentially invalid."
        );
    }
    Ok(if changes {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
