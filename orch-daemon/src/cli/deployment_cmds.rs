//! `orch deployment list|status|promote|fail|pause|resume`, with Nomad's tables.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::api::{ApiClient, encode, parse_args};
use super::flags::Parsed;
use super::table::{columns, kv, short, text, time_of};

const USAGE: &str = "Usage: orch deployment <subcommand> [options] [args]

Subcommands:
    list     List all deployments
    status   Display the status of a deployment (-monitor to follow it)
    promote  Promote canaries in a deployment
    fail     Manually fail a deployment
    pause    Pause a deployment
    resume   Resume a paused deployment";

const LIST_HELP: &str = "Usage: orch deployment list [options]

Options:
  -json     Print the raw API JSON
  -verbose  Full IDs";

const STATUS_HELP: &str = "Usage: orch deployment status [options] <deployment>

  The status of a deployment (ID or unique prefix).

Options:
  -json     Print the raw API JSON
  -monitor  Follow the deployment until it finishes
  -verbose  Full IDs";

const PROMOTE_HELP: &str = "Usage: orch deployment promote [options] <deployment>

  Promotes the canaries of all task groups, or of those named with -group.

Options:
  -group <g>  Promote this group (repeatable)
  -detach     Return right after promoting, printing the evaluation ID";

const FAIL_HELP: &str = "Usage: orch deployment fail [options] <deployment>

  Marks a deployment failed; groups with auto_revert roll back to the last stable version.

Options:
  -detach  Return right after failing, printing the evaluation ID";

const PAUSE_HELP: &str = "Usage: orch deployment pause <deployment>

  Pauses a deployment: no further allocations are placed until it is resumed.";

const RESUME_HELP: &str = "Usage: orch deployment resume [options] <deployment>

  Resumes a paused deployment.

Options:
  -detach  Return right after resuming, printing the evaluation ID";

/// Dispatches `orch deployment <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("list") => list(rest),
        Some("status") => status(rest),
        Some("promote") => promote(rest),
        Some("fail") => fail(rest),
        Some("pause") => pause(rest, true),
        Some("resume") => pause(rest, false),
        Some("-h" | "-help" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!(
            "unknown command `orch deployment {other}`\n\n{USAGE}"
        )),
    }
}

/// The one positional argument (a deployment ID or prefix), resolved to a full ID.
fn target(client: &ApiClient, p: &Parsed, help: &str) -> Result<String, String> {
    let [id] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes one argument: <deployment>\n\n{help}"
        ));
    };
    client.resolve("/v1/deployments", "deployment", id)
}

fn list(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[("verbose", false)], LIST_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let list = client.get("/v1/deployments")?;
    if p.has("json") {
        return super::print_json(&list);
    }
    let mut list = list.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No deployments found");
        return Ok(ExitCode::SUCCESS);
    }
    list.sort_by_key(|d| std::cmp::Reverse(d["CreateIndex"].as_u64().unwrap_or(0)));
    let id = |d: &Value| {
        let id = text(&d["ID"]);
        if p.has("verbose") { id } else { short(&id) }
    };
    let mut rows = vec![
        ["ID", "Job ID", "Job Version", "Status", "Description"]
            .map(String::from)
            .to_vec(),
    ];
    for d in &list {
        rows.push(vec![
            id(d),
            text(&d["JobID"]),
            text(&d["JobVersion"]),
            text(&d["Status"]),
            text(&d["StatusDescription"]),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}

fn status(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("verbose", false), ("monitor", false)];
    let Some(p) = parse_args(args, &flags, STATUS_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = target(&client, &p, STATUS_HELP)?;
    if p.has("monitor") {
        return Ok(ExitCode::from(super::monitor::monitor_deployment(
            &client, &id,
        )?));
    }
    let d = client.get(&format!("/v1/deployment/{}", encode(&id)))?;
    if p.has("json") {
        return super::print_json(&d);
    }
    println!("{}", format_deployment(&d, p.has("verbose")));
    Ok(ExitCode::SUCCESS)
}

/// Nomad's `deployment status` block: key/values, then the `Deployed` table whose
/// `Auto Revert`, `Promoted` and `Canaries` columns appear only when some group uses them.
pub fn format_deployment(d: &Value, verbose: bool) -> String {
    let id = text(&d["ID"]);
    let mut out = kv(&[
        ("ID", if verbose { id.clone() } else { short(&id) }),
        ("Job ID", text(&d["JobID"])),
        ("Job Version", text(&d["JobVersion"])),
        ("Status", text(&d["Status"])),
        ("Description", text(&d["StatusDescription"])),
    ]);
    let Some(groups) = d["TaskGroups"].as_object().filter(|g| !g.is_empty()) else {
        return out;
    };
    let any = |k: &str| groups.values().any(|g| g[k].as_bool().unwrap_or(false));
    let revert = any("AutoRevert");
    let canaries = groups
        .values()
        .any(|g| g["DesiredCanaries"].as_u64().unwrap_or(0) > 0);
    let mut header = vec!["Task Group"];
    if revert {
        header.push("Auto Revert");
    }
    if canaries {
        header.push("Promoted");
    }
    header.push("Desired");
    if canaries {
        header.push("Canaries");
    }
    header.extend(["Placed", "Healthy", "Unhealthy", "Progress Deadline"]);
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for (name, g) in groups {
        let mut row = vec![name.clone()];
        if revert {
            row.push(text(&g["AutoRevert"]));
        }
        let wants = g["DesiredCanaries"].as_u64().unwrap_or(0);
        if canaries {
            row.push(if wants > 0 {
                text(&g["Promoted"])
            } else {
                "N/A".into()
            });
        }
        row.push(text(&g["DesiredTotal"]));
        if canaries {
            row.push(wants.to_string());
        }
        row.push(text(&g["PlacedAllocs"]));
        row.push(text(&g["HealthyAllocs"]));
        row.push(text(&g["UnhealthyAllocs"]));
        let deadline = whole_seconds(&time_of(&g["RequireProgressBy"]));
        row.push(if deadline.is_empty() {
            "N/A".into()
        } else {
            deadline
        });
        rows.push(row);
    }
    out.push_str("\n\nDeployed\n");
    out.push_str(&columns(&rows));
    out
}

/// `2024-05-01T12:00:00.123456Z` → `2024-05-01T12:00:00Z`: Nomad prints whole seconds.
fn whole_seconds(t: &str) -> String {
    match (t.find('.'), t.rfind(['Z', '+', '-'])) {
        (Some(dot), Some(zone)) if zone > dot => format!("{}{}", &t[..dot], &t[zone..]),
        (Some(dot), _) => t[..dot].to_string(),
        _ => t.to_string(),
    }
}

/// Prints the update's evaluation ID (`-detach`) or monitors it.
fn follow(client: &ApiClient, reply: &Value, detach: bool) -> Result<ExitCode, String> {
    let eval_id = text(&reply["EvalID"]);
    if eval_id.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if detach {
        println!("Evaluation ID: {eval_id}");
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    Ok(ExitCode::from(super::monitor::monitor(client, &eval_id)?))
}

fn promote(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("group", true), ("detach", false), ("verbose", false)];
    let Some(p) = parse_args(args, &flags, PROMOTE_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = target(&client, &p, PROMOTE_HELP)?;
    let groups = p.all("group");
    let body = if groups.is_empty() {
        json!({"DeploymentID": id, "All": true})
    } else {
        json!({"DeploymentID": id, "Groups": groups})
    };
    let reply = client.put(&format!("/v1/deployment/promote/{}", encode(&id)), &body)?;
    follow(&client, &reply, p.has("detach"))
}

fn fail(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("detach", false), ("verbose", false)];
    let Some(p) = parse_args(args, &flags, FAIL_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = target(&client, &p, FAIL_HELP)?;
    let reply = client.put(
        &format!("/v1/deployment/fail/{}", encode(&id)),
        &json!({"DeploymentID": id}),
    )?;
    let mut msg = format!("Deployment {:?} failed", short(&id));
    if let Some(v) = reply["RevertedJobVersion"].as_u64() {
        msg.push_str(&format!(". Auto-reverted to job version {v}."));
    }
    println!("{msg}");
    follow(&client, &reply, p.has("detach"))
}

fn pause(args: &[String], pause: bool) -> Result<ExitCode, String> {
    let help = if pause { PAUSE_HELP } else { RESUME_HELP };
    let flags = [("detach", false), ("verbose", false)];
    let Some(p) = parse_args(args, &flags, help)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = target(&client, &p, help)?;
    let reply = client.put(
        &format!("/v1/deployment/pause/{}", encode(&id)),
        &json!({"DeploymentID": id, "Pause": pause}),
    )?;
    let what = if pause { "paused" } else { "resumed" };
    println!("Deployment {:?} {what}", short(&id));
    follow(&client, &reply, p.has("detach"))
}
