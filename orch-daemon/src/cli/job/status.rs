//! `orch job status`: every job as a table, or one job's details, task group summary,
//! placement failures, latest deployment and allocations.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::job_path;
use super::periodic::next_periodic_launch;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, Parsed, parse_verb};
use crate::cli::output;
use crate::cli::table::{columns, failed_groups, kv, short, text, time_of, whole_seconds};

const USAGE: &str = "Usage: orch job status [options] <job>

  Display status information about a job. If no job ID is given, a list of all
  known jobs will be displayed.

Status Options:

  -all-allocs
    Display all allocations matching the job ID, including those from an older
    instance of the job.

  -evals
    Display the evaluations associated with the job.

  -json
    Output the job status in JSON format.

  -short
    Display short output. Used only when a single job is being
    queried, and drops verbose information about allocations.

  -t
    Format and display the job status using a Go template.

  -ui
    Open the job status page in the browser.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("verbose"),
    FlagSpec::switch("short"),
    FlagSpec::switch("evals"),
    FlagSpec::switch("all-allocs"),
    FlagSpec::switch("ui"),
];

/// Runs `orch job status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = match p.positional.as_slice() {
        [] => return list_jobs(&client, &p),
        [id] => client.resolve("/v1/jobs", "job", id)?,
        _ => {
            return Err(format!(
                "This command takes either no arguments or one: <job>\n\n{USAGE}"
            ));
        }
    };
    let job = client.get(&job_path(&id))?;
    if output::asked(&p) {
        let one = json_job(&client, &id, None, p.has("all-allocs"))?;
        return output::print(&p, &Value::Array(vec![one]));
    }
    println!("{}", kv(&basics(&job)));
    if p.has("short") {
        return open_ui(&p, &id);
    }
    let all = if p.has("all-allocs") { "?all=true" } else { "" };
    let summary = client.get(&format!("{}/summary", job_path(&id)))?;
    let allocs = client.get(&format!("{}/allocations{all}", job_path(&id)))?;
    println!("\nSummary");
    println!("{}", summary_table(&summary));
    print_waiting(&summary);
    let evals = client.get(&format!("{}/evaluations", job_path(&id)))?;
    print_placement_failures(&evals);
    let deployment = client.get(&format!("{}/deployment", job_path(&id)))?;
    if !deployment.is_null() {
        print_deployment(&deployment);
    }
    if p.has("verbose") || p.has("evals") {
        print_evals(&evals);
    }
    println!("\nAllocations");
    print_allocations(&allocs);
    open_ui(&p, &id)
}

/// `-ui`: opens the job's page of the web UI.
fn open_ui(p: &Parsed, id: &str) -> Result<ExitCode, String> {
    if p.has("ui") {
        crate::cli::ui::open_for(p, "jobs", id)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Nomad's `JobJson` for one job, what `-json` and `-t` print (in a list): its
/// summary, allocations, latest deployment and evaluations.
/// `namespace` names the job's own (a list across namespaces), else the client's.
fn json_job(
    client: &ApiClient,
    id: &str,
    namespace: Option<&str>,
    all_allocs: bool,
) -> Result<Value, String> {
    let ns = namespace.map_or(String::new(), |n| format!("namespace={}", encode(n)));
    let q = |extra: &str| {
        let both: Vec<&str> = [extra, ns.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        if both.is_empty() {
            String::new()
        } else {
            format!("?{}", both.join("&"))
        }
    };
    let all = if all_allocs { "all=true" } else { "" };
    let path = job_path(id);
    Ok(json!({
        "Summary": client.get(&format!("{path}/summary{}", q("")))?,
        "Allocations": client.get(&format!("{path}/allocations{}", q(all)))?,
        "LatestDeployment": client.get(&format!("{path}/deployment{}", q("")))?,
        "Evaluations": client.get(&format!("{path}/evaluations{}", q("")))?,
    }))
}

/// `Placement Failure` blocks of the job's blocked evaluations.
fn print_placement_failures(evals: &Value) {
    let blocked = evals.as_array().into_iter().flatten();
    // An evaluation waiting only for a job dependency failed no placement: its reason
    // is the summary's `Waiting` (`print_waiting`).
    let failed = |e: &&Value| e["TriggeredBy"] != orch_core::workflow::JOB_DEPENDENCY;
    for e in blocked.filter(|e| e["Status"] == "blocked").filter(failed) {
        println!("\nPlacement Failure");
        for line in failed_groups(&e["FailedTGAllocs"], "") {
            println!("{line}");
        }
    }
}

/// Nomad's `Evaluations` table (`-evals`, `-verbose`).
fn print_evals(evals: &Value) {
    let mut rows = vec![
        [
            "ID",
            "Priority",
            "Triggered By",
            "Status",
            "Placement Failures",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in evals.as_array().into_iter().flatten() {
        let failures = e["FailedTGAllocs"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
            || !e["BlockedEval"].as_str().unwrap_or_default().is_empty();
        rows.push(vec![
            short(&text(&e["ID"])),
            text(&e["Priority"]),
            text(&e["TriggeredBy"]),
            text(&e["Status"]),
            failures.to_string(),
        ]);
    }
    println!("\nEvaluations\n{}", columns(&rows));
}

/// The job's `Key = Value` block, with `Next Periodic Launch` for periodic jobs.
fn basics(job: &Value) -> Vec<(&'static str, String)> {
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
        } else if let Some(next) = next_periodic_launch(&job["Periodic"], crate::clock::now_nanos())
        {
            basic.push(("Next Periodic Launch", next));
        }
    }
    basic
}

/// The `Summary` table: allocation counts per task group and client status.
fn summary_table(summary: &Value) -> String {
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
    columns(&rows)
}

/// orch's job dependencies: the groups that wait for another job, and why (the
/// summary's `Waiting`, absent for every job without dependencies).
fn print_waiting(summary: &Value) {
    let Some(waiting) = summary["Waiting"].as_object().filter(|m| !m.is_empty()) else {
        return;
    };
    let mut rows = vec![vec!["Task Group".to_string(), "Waiting For".to_string()]];
    for (g, why) in waiting {
        rows.push(vec![
            g.clone(),
            why.as_str().unwrap_or_default().to_string(),
        ]);
    }
    println!("\nDependencies\n{}", columns(&rows));
}

/// The `Allocations` table, or `No allocations placed`.
pub(super) fn print_allocations(allocs: &Value) {
    let list = allocs.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No allocations placed");
        return;
    }
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
        let deadline = whole_seconds(&time_of(&s["RequireProgressBy"]));
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

/// The table of every job (`orch job status` without a job); `-json` and `-t` print
/// Nomad's `JobJson` of each.
fn list_jobs(client: &ApiClient, p: &Parsed) -> Result<ExitCode, String> {
    let jobs = client.get("/v1/jobs")?;
    let list = jobs.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No running jobs");
        return Ok(ExitCode::SUCCESS);
    }
    if output::asked(p) {
        let mut out = Vec::new();
        for j in &list {
            let ns = text(&j["Namespace"]);
            let ns = Some(ns.as_str()).filter(|n| !n.is_empty());
            out.push(json_job(client, &text(&j["ID"]), ns, p.has("all-allocs"))?);
        }
        return output::print(p, &Value::Array(out));
    }
    println!("{}", jobs_table(&list, false));
    Ok(ExitCode::SUCCESS)
}

/// Nomad's job list table (`ID  Type  Priority  Status  Submit Date`), with a
/// `Namespace` column after the ID when the list spans namespaces.
pub(crate) fn jobs_table(list: &[Value], with_namespace: bool) -> String {
    let mut header = vec!["ID"];
    if with_namespace {
        header.push("Namespace");
    }
    header.extend(["Type", "Priority", "Status", "Submit Date"]);
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for j in list {
        let status = if j["Stop"].as_bool().unwrap_or(false) {
            "dead (stopped)".to_string()
        } else {
            text(&j["Status"])
        };
        let mut row = vec![text(&j["ID"])];
        if with_namespace {
            row.push(text(&j["Namespace"]));
        }
        row.extend([
            text(&j["Type"]),
            text(&j["Priority"]),
            status,
            time_of(&j["SubmitTime"]),
        ]);
        rows.push(row);
    }
    columns(&rows)
}
