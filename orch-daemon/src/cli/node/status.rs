//! `orch node status`: every node as a table, or one node's details and allocations.

use std::process::ExitCode;

use serde_json::Value;

use super::{node_path, one_node};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, kv, short, text};

const USAGE: &str = "Usage: orch node status [options] [<node>]

  Without a node: a table of every node. With a node ID (or unique prefix): its details
  and allocations.

Options:
  -address=<url>  Agent address (default: ORCH_ADDR, NOMAD_ADDR, http://127.0.0.1:4646)
  -json           Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("verbose"),
    FlagSpec::switch("self"),
    FlagSpec::switch("allocs"),
];

/// Runs `orch node status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    if p.positional.is_empty() {
        let nodes = client.get("/v1/nodes")?;
        if crate::cli::output::asked(&p) {
            return crate::cli::output::print(&p, &nodes);
        }
        print_nodes(&nodes);
        return Ok(ExitCode::SUCCESS);
    }
    let id = one_node(&client, &p, USAGE)?;
    let node = client.get(&node_path(&id))?;
    let allocs = client.get(&format!("{}/allocations", node_path(&id)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &node);
    }
    print_node(&node);
    print_allocations(&allocs);
    Ok(ExitCode::SUCCESS)
}

/// A node class as Nomad prints it, `<none>` when unset.
fn class(v: &Value) -> String {
    let c = text(v);
    if c.is_empty() { "<none>".into() } else { c }
}

/// The table of every node, or `No nodes registered`.
fn print_nodes(nodes: &Value) {
    let list = nodes.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No nodes registered");
        return;
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
}

/// One node's `Key = Value` block.
fn print_node(node: &Value) {
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
}

/// The node's `Allocations` table, or `No allocations placed`.
fn print_allocations(allocs: &Value) {
    println!("\nAllocations");
    let list = allocs.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No allocations placed");
        return;
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
}
