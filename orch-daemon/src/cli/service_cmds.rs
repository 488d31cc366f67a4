//! `orch service list|info`: orch's own service catalog (`provider = "nomad"`), over
//! `/v1/services` and `/v1/service/:name`.

use std::process::ExitCode;

use super::api::{ApiClient, encode, parse_args};
use super::table::{columns, short, text};

const USAGE: &str = "Usage: orch service <subcommand> [options] [args]

Subcommands:
    list   List the services in the catalog
    info   Display where a service's instances answer";

const LIST_HELP: &str = "Usage: orch service list [options]

  Service names and their tags, per namespace.

Options:
  -json  Print the raw API JSON";

const INFO_HELP: &str = "Usage: orch service info [options] <service>

  Every registered instance of a service: job, address, tags, node and allocation.

Options:
  -verbose  Full IDs
  -json     Print the raw API JSON";

/// Dispatches `orch service <...>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("list") => list(rest),
        Some("info") => info(rest),
        None | Some("-h" | "-help" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown command `orch service {other}`\n\n{USAGE}")),
    }
}

fn list(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[], LIST_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let v = client.get("/v1/services")?;
    if p.has("json") {
        return super::print_json(&v);
    }
    let mut rows = vec![vec!["Service Name".to_string(), "Tags".to_string()]];
    for ns in v.as_array().into_iter().flatten() {
        for s in ns["Services"].as_array().into_iter().flatten() {
            let tags: Vec<String> = s["Tags"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            rows.push(vec![
                text(&s["ServiceName"]),
                format!("[{}]", tags.join(",")),
            ]);
        }
    }
    if rows.len() == 1 {
        println!("No services found");
    } else {
        println!("{}", columns(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn info(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[("verbose", false)], INFO_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [name] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes one argument: <service>\n\n{INFO_HELP}"
        ));
    };
    let client = ApiClient::from_flags(&p)?;
    let v = client.get(&format!("/v1/service/{}", encode(name)))?;
    if p.has("json") {
        return super::print_json(&v);
    }
    let instances = v.as_array().cloned().unwrap_or_default();
    if instances.is_empty() {
        return Err(format!(
            "No service {name:?} registered; list them with `orch service list`"
        ));
    }
    let id = |s: String| if p.has("verbose") { s } else { short(&s) };
    let mut rows = vec![
        ["Job ID", "Address", "Tags", "Node ID", "Alloc ID"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &instances {
        let tags: Vec<String> = r["Tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        rows.push(vec![
            text(&r["JobID"]),
            format!("{}:{}", text(&r["Address"]), text(&r["Port"])),
            format!("[{}]", tags.join(",")),
            id(text(&r["NodeID"])),
            id(text(&r["AllocID"])),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}
