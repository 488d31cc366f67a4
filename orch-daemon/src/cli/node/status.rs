//! `orch node status`: every node as a table, or one node's details and allocations.

use std::process::ExitCode;

use std::collections::BTreeMap;

use serde_json::Value;

use super::{node_path, one_node};
use crate::cli::api::{ApiClient, list_query, with_query};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, PAGING, Parsed, parse_verb};
use crate::cli::output;
use crate::cli::table::{columns, kv, short, text};

const USAGE: &str = "Usage: orch node status [options] <node>

  Display status information about a given node. The list of nodes returned
  includes only nodes which jobs may be scheduled to, and includes status and
  other high-level information.

  If a node ID is passed, information for that specific node will be displayed,
  including resource usage statistics. If no node ID's are passed, then a short
  status of all nodes will be displayed. The -self flag is useful to quickly
  access the status of the local node.

Node Status Options:

  -self
    Query the status of the local node.

  -stats
    Display detailed resource usage statistics (not supported by orch yet).

  -allocs
    Display a count of running allocations for each node.

  -short
    Display short output. Used only when a single node is being
    queried, and drops verbose output about node allocations.

  -verbose
    Display full information.

  -per-page
    How many results to show per page.

  -page-token
    Where to start pagination.

  -filter
    Specifies an expression used to filter query results.

  -os
    Display operating system name.

  -quiet
    Display only node IDs.

  -json
    Output the node in its JSON format.

  -t
    Format and display node using a Go template.

  -ui
    Open the node status page in the browser.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("verbose"),
    FlagSpec::switch("self"),
    FlagSpec::switch("allocs"),
    FlagSpec::switch("short"),
    FlagSpec::switch("os"),
    FlagSpec::switch("quiet"),
    FlagSpec::switch("ui"),
    FlagSpec::refused_switch(
        "stats",
        "the detailed usage view is not built yet; read /v1/client/stats",
    ),
];

/// Runs `orch node status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, PAGING, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    if p.positional.is_empty() && !p.has("self") {
        return list(&client, &p);
    }
    let id = one_node(&client, &p, USAGE)?;
    let node = client.get(&node_path(&id))?;
    if output::asked(&p) {
        return output::print(&p, &node);
    }
    print_node(&node);
    if !p.has("short") {
        print_allocations(&client.get(&format!("{}/allocations", node_path(&id)))?);
    }
    if p.has("ui") {
        crate::cli::ui::open_for(&p, "nodes", &id)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Every node: `-json`/`-t`, `-quiet` (IDs only) or the table; `-filter`, `-per-page`
/// and `-page-token` go to the list query as Nomad sends them.
fn list(client: &ApiClient, p: &Parsed) -> Result<ExitCode, String> {
    let mut query = list_query(p)?;
    if p.has("os") {
        query.push("os=true".to_string());
    }
    let path = with_query("/v1/nodes", &query);
    let nodes = client.get(&path)?;
    if output::asked(p) {
        return output::print(p, &nodes);
    }
    if p.has("quiet") {
        for n in nodes.as_array().into_iter().flatten() {
            println!("{}", short(&text(&n["ID"])));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let running = if p.has("allocs") {
        Some(running_allocs(client)?)
    } else {
        None
    };
    print_nodes(&nodes, p, running.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// Running allocations per node ID (`-allocs`).
fn running_allocs(client: &ApiClient) -> Result<BTreeMap<String, usize>, String> {
    let mut out = BTreeMap::new();
    let allocs = client.get("/v1/allocations?filter=ClientStatus%20%3D%3D%20%22running%22")?;
    for a in allocs.as_array().into_iter().flatten() {
        *out.entry(text(&a["NodeID"])).or_default() += 1;
    }
    Ok(out)
}

/// A node class as Nomad prints it, `<none>` when unset.
fn class(v: &Value) -> String {
    let c = text(v);
    if c.is_empty() { "<none>".into() } else { c }
}

/// The table of every node, or `No nodes registered`; `-verbose` adds Address and
/// Version, `-os` the OS, `-allocs` the running allocations.
pub(super) fn print_nodes(nodes: &Value, p: &Parsed, running: Option<&BTreeMap<String, usize>>) {
    let list = nodes.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No nodes registered");
        return;
    }
    let verbose = p.has("verbose");
    let mut header = vec!["ID", "Node Pool", "DC", "Name", "Class"];
    if verbose {
        header.extend(["Address", "Version"]);
    }
    if p.has("os") {
        header.push("OS");
    }
    header.extend(["Drain", "Eligibility", "Status"]);
    if running.is_some() {
        header.push("Running Allocs");
    }
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for n in &list {
        let mut row = vec![
            short(&text(&n["ID"])),
            text(&n["NodePool"]),
            text(&n["Datacenter"]),
            text(&n["Name"]),
            class(&n["NodeClass"]),
        ];
        if verbose {
            row.extend([text(&n["Address"]), text(&n["Version"])]);
        }
        if p.has("os") {
            let attrs = &n["Attributes"];
            let os = format!("{} {}", text(&attrs["os.name"]), text(&attrs["os.version"]));
            row.push(os.trim().to_string());
        }
        row.extend([
            n["Drain"].as_bool().unwrap_or(false).to_string(),
            text(&n["SchedulingEligibility"]),
            text(&n["Status"]),
        ]);
        if let Some(running) = running {
            let count = running.get(&text(&n["ID"])).copied().unwrap_or(0);
            row.push(count.to_string());
        }
        rows.push(row);
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
