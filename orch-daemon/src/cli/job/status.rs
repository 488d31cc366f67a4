//! `orch job status`: every job as a table, or one job's details, task group summary,
//! placement failures, latest deployment and allocations.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::job_path;
use super::periodic::next_periodic_launch;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::output::print_json;
use crate::cli::table::{columns, failed_groups, kv, short, text, time_of};

const USAGE: &str = "Usage: orch job status [options] [<job>]

  Without a job: a table of every job. With a job ID (or unique prefix): its details,
  summary per task group and allocations.

Options:
  -address=<url>  Agent address (default: ORCH_ADDR, NOMAD_ADDR, http://127.0.0.1:4646)
  -json           Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("verbose"), FlagSpec::switch("short")];

/// Runs `orch job status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = match p.positional.as_slice() {
        [] => return list_jobs(&client, p.has("json")),
        [id] => client.resolve("/v1/jobs", "job", id)?,
        _ => return Err(format!("expected at most one job ID\n\n{USAGE}")),
    };
    let job = client.get(&job_path(&id))?;
    let summary = client.get(&format!("{}/summary", job_path(&id)))?;
    let allocs = client.get(&format!("{}/allocations", job_path(&id)))?;
    if p.has("json") {
        return print_json(&json!({"Job": job, "Summary": summary, "Allocations": allocs}));
    }
    println!("{}", kv(&basics(&job)));
    println!("\nSummary");
    println!("{}", summary_table(&summary));
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
    print_allocations(&allocs);
    Ok(ExitCode::SUCCESS)
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

/// The table of every job (`orch job status` without a job).
fn list_jobs(client: &ApiClient, as_json: bool) -> Result<ExitCode, String> {
    let jobs = client.get("/v1/jobs")?;
    if as_json {
        return print_json(&jobs);
    }
    let list = jobs.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No running jobs");
        return Ok(ExitCode::SUCCESS);
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
