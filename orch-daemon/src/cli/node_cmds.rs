//! `orch node status|drain|eligibility`.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::api::{ApiClient, encode, parse_args};
use super::flags::Parsed;
use super::table::{columns, kv, short, text};

const NODE_USAGE: &str = "Usage: orch node <subcommand> [options] [args]

Subcommands:
    drain        Toggle drain mode on a node
    eligibility  Toggle scheduling eligibility of a node
    status       Display status information about nodes";

const STATUS_HELP: &str = "Usage: orch node status [options] [<node>]

  Without a node: a table of every node. With a node ID (or unique prefix): its details
  and allocations.

Options:
  -address=<url>  Agent address (default: ORCH_ADDR, NOMAD_ADDR, http://127.0.0.1:4646)
  -json           Print the raw API JSON";

const DRAIN_HELP: &str = "Usage: orch node drain [options] <node>

  Starts (-enable) or stops (-disable) draining a node: it takes no new work and its
  allocations migrate elsewhere, each group at its migrate block's pace, until the
  deadline. Without -detach, follows the drain until it is complete.

Options:
  -enable             Start draining
  -disable            Stop draining
  -monitor            Follow a drain already in progress
  -deadline=<dur>     Force-stop remaining allocations after this long (e.g. 1h, 30m; default 1h)
  -force              Stop every allocation at once (deadline -1s)
  -no-deadline        Never force-stop allocations
  -ignore-system      Leave system jobs' allocations running
  -keep-ineligible    With -disable: leave the node ineligible
  -detach             Return once the drain is set instead of following it
  -yes                Accepted for compatibility (orch does not prompt)";

const ELIGIBILITY_HELP: &str = "Usage: orch node eligibility [options] <node>

  Marks a node eligible (-enable) or ineligible (-disable) for new allocations.

Options:
  -enable   Mark eligible
  -disable  Mark ineligible";

/// Dispatches `orch node <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("status") => status(rest),
        Some("drain") => drain(rest),
        Some("eligibility") => eligibility(rest),
        Some("-h" | "-help" | "--help" | "help") | None => {
            println!("{NODE_USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!(
            "unknown command `orch node {other}`\n\n{NODE_USAGE}"
        )),
    }
}

fn node_path(id: &str) -> String {
    format!("/v1/node/{}", encode(id))
}

fn one_node(client: &ApiClient, p: &Parsed, help: &str) -> Result<String, String> {
    match p.positional.as_slice() {
        [one] => client.resolve("/v1/nodes", "node", one),
        _ => Err(format!("this command takes one argument: <node>\n\n{help}")),
    }
}

fn class(v: &Value) -> String {
    let c = text(v);
    if c.is_empty() { "<none>".into() } else { c }
}

fn status(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("verbose", false), ("self", false), ("allocs", false)];
    let Some(p) = parse_args(args, &flags, STATUS_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    if p.positional.is_empty() {
        let nodes = client.get("/v1/nodes")?;
        if p.has("json") {
            return super::print_json(&nodes);
        }
        let list = nodes.as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            println!("No nodes registered");
            return Ok(ExitCode::SUCCESS);
        }
        let mut rows = vec![
            [
                "ID",
                "Node Pool",
                "DC",
                "Name",
                "Class",
                "Drain",
                "Eligibility",
                "Status",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for n in &list {
            rows.push(vec![
                short(&text(&n["ID"])),
                text(&n["NodePool"]),
                text(&n["Datacenter"]),
                text(&n["Name"]),
                class(&n["NodeClass"]),
                n["Drain"].as_bool().unwrap_or(false).to_string(),
                text(&n["SchedulingEligibility"]),
                text(&n["Status"]),
            ]);
        }
        println!("{}", columns(&rows));
        return Ok(ExitCode::SUCCESS);
    }
    let id = one_node(&client, &p, STATUS_HELP)?;
    let node = client.get(&node_path(&id))?;
    let allocs = client.get(&format!("{}/allocations", node_path(&id)))?;
    if p.has("json") {
        return super::print_json(&node);
    }
    let drivers: Vec<String> = node["Drivers"]
        .as_object()
        .map(|d| {
            d.iter()
                .filter(|(_, v)| v["Detected"].as_bool().unwrap_or(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    println!(
        "{}",
        kv(&[
            ("ID", text(&node["ID"])),
            ("Name", text(&node["Name"])),
            ("Node Pool", text(&node["NodePool"])),
            ("Class", class(&node["NodeClass"])),
            ("DC", text(&node["Datacenter"])),
            (
                "Drain",
                node["Drain"].as_bool().unwrap_or(false).to_string()
            ),
            ("Eligibility", text(&node["SchedulingEligibility"])),
            ("Status", text(&node["Status"])),
            ("Drivers", drivers.join(",")),
        ])
    );
    println!("\nAllocations");
    let list = allocs.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No allocations placed");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        [
            "ID",
            "Eval ID",
            "Job ID",
            "Version",
            "Task Group",
            "Desired",
            "Status",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for a in &list {
        rows.push(vec![
            short(&text(&a["ID"])),
            short(&text(&a["EvalID"])),
            text(&a["JobID"]),
            text(if a["JobVersion"].is_null() {
                &a["Job"]["Version"]
            } else {
                &a["JobVersion"]
            }),
            text(&a["TaskGroup"]),
            text(&a["DesiredStatus"]),
            text(&a["ClientStatus"]),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}

/// Parses a Go duration (`1h30m`, `90s`) into nanoseconds.
fn duration_nanos(s: &str) -> Result<i64, String> {
    crate::http::query::parse_go_duration(s)
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .ok_or_else(|| format!("-deadline {s:?}: expected a duration such as 1h, 30m or 90s"))
}

fn enable_disable(p: &Parsed, help: &str) -> Result<bool, String> {
    match (p.has("enable"), p.has("disable")) {
        (true, false) => Ok(true),
        (false, true) => Ok(false),
        _ => Err(format!("give exactly one of -enable or -disable\n\n{help}")),
    }
}

fn drain(args: &[String]) -> Result<ExitCode, String> {
    let flags = [
        ("enable", false),
        ("disable", false),
        ("deadline", true),
        ("no-deadline", false),
        ("ignore-system", false),
        ("keep-ineligible", false),
        ("force", false),
        ("yes", false),
        ("detach", false),
        ("monitor", false),
        ("self", false),
    ];
    let Some(p) = parse_args(args, &flags, DRAIN_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if p.has("monitor") {
        if p.has("enable") || p.has("disable") {
            return Err(format!(
                "-monitor follows a drain and cannot be combined with -enable or -disable\n\n{DRAIN_HELP}"
            ));
        }
        let client = ApiClient::from_flags(&p)?;
        let id = one_node(&client, &p, DRAIN_HELP)?;
        let node = client.get(&node_path(&id))?;
        if node["DrainStrategy"].is_null() {
            println!("No drain strategy set for node {id}");
            return Ok(ExitCode::SUCCESS);
        }
        let ignore = node["DrainStrategy"]["IgnoreSystemJobs"]
            .as_bool()
            .unwrap_or(false);
        super::drain_monitor::monitor_drain(&client, &id, ignore, false)?;
        return Ok(ExitCode::SUCCESS);
    }
    let enable = enable_disable(&p, DRAIN_HELP)?;
    let chosen = [p.has("force"), p.has("no-deadline"), p.has("deadline")];
    if chosen.iter().filter(|c| **c).count() > 1 {
        return Err(format!(
            "give at most one of -deadline, -force and -no-deadline\n\n{DRAIN_HELP}"
        ));
    }
    let client = ApiClient::from_flags(&p)?;
    let id = one_node(&client, &p, DRAIN_HELP)?;
    let ignore_system = p.has("ignore-system");
    let body = if enable {
        let deadline = if p.has("force") {
            -1
        } else if p.has("no-deadline") {
            0
        } else {
            match p.all("deadline").last() {
                Some(d) => duration_nanos(d)?,
                None => 3_600_000_000_000,
            }
        };
        json!({"DrainSpec": {"Deadline": deadline, "IgnoreSystemJobs": ignore_system},
               "MarkEligible": false})
    } else {
        json!({"DrainSpec": null, "MarkEligible": !p.has("keep-ineligible")})
    };
    client.put(&format!("{}/drain", node_path(&id)), &body)?;
    if !enable {
        println!("Node {id:?} drain strategy unset");
        return Ok(ExitCode::SUCCESS);
    }
    if p.has("detach") {
        println!("Node {id:?} drain strategy set");
        return Ok(ExitCode::SUCCESS);
    }
    super::drain_monitor::monitor_drain(&client, &id, ignore_system, true)?;
    Ok(ExitCode::SUCCESS)
}

fn eligibility(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("enable", false), ("disable", false), ("self", false)];
    let Some(p) = parse_args(args, &flags, ELIGIBILITY_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let enable = enable_disable(&p, ELIGIBILITY_HELP)?;
    let client = ApiClient::from_flags(&p)?;
    let id = one_node(&client, &p, ELIGIBILITY_HELP)?;
    let value = if enable { "eligible" } else { "ineligible" };
    client.put(
        &format!("{}/eligibility", node_path(&id)),
        &json!({"NodeID": id, "Eligibility": value}),
    )?;
    println!("Node {id:?} scheduling eligibility set: {value} for scheduling");
    Ok(ExitCode::SUCCESS)
}
