//! `orch scaling policy list|info`, over `/v1/scaling/policies` and
//! `/v1/scaling/policy/:id`.

use std::process::ExitCode;

use super::api::{ApiClient, encode, parse_args};
use super::table::{columns, kv, short, text, time_of};

const USAGE: &str = "Usage: orch scaling policy <subcommand> [options] [args]

Subcommands:
    list   List scaling policies
    info   Display a scaling policy, with the autoscaler's status";

const LIST_HELP: &str = "Usage: orch scaling policy list [options]

Options:
  -job=<id>    Only the policies of this job
  -type=<t>    Only policies whose type starts with this (horizontal)
  -json        Print the raw API JSON";

const INFO_HELP: &str = "Usage: orch scaling policy info [options] <policy>

  The policy (ID or unique prefix) and what the leader's autoscaler last did with it.

Options:
  -json  Print the raw API JSON";

/// Dispatches `orch scaling <...>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let (first, second) = (
        args.first().map(String::as_str),
        args.get(1).map(String::as_str),
    );
    let rest = args.get(2..).unwrap_or_default();
    match (first, second) {
        (Some("policy"), Some("list")) => list(rest),
        (Some("policy"), Some("info")) => info(rest),
        (Some("policy") | None, None) | (Some("-h" | "-help" | "--help" | "help"), _) => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!(
            "unknown command `orch scaling {}`\n\n{USAGE}",
            args.join(" ")
        )),
    }
}

fn list(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[("job", true), ("type", true)], LIST_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let mut query = Vec::new();
    for key in ["job", "type"] {
        if let Some(v) = p.all(key).last() {
            query.push(format!("{key}={}", encode(v)));
        }
    }
    let path = format!("/v1/scaling/policies?{}", query.join("&"));
    let list = client.get(&path)?;
    if p.has("json") {
        return super::print_json(&list);
    }
    let list = list.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No policies found");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        ["ID", "Enabled", "Type", "Target"]
            .map(String::from)
            .to_vec(),
    ];
    for s in &list {
        let t = &s["Target"];
        rows.push(vec![
            short(&text(&s["ID"])),
            text(&s["Enabled"]),
            text(&s["Type"]),
            format!(
                "Namespace:{},Job:{},Group:{}",
                text(&t["Namespace"]),
                text(&t["Job"]),
                text(&t["Group"])
            ),
        ]);
    }
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}

fn info(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_args(args, &[], INFO_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [id] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes one argument: <policy>\n\n{INFO_HELP}"
        ));
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/scaling/policies", "scaling policy", id)?;
    let v = client.get(&format!("/v1/scaling/policy/{}", encode(&id)))?;
    if p.has("json") {
        return super::print_json(&v);
    }
    let t = &v["Target"];
    let st = &v["Status"];
    println!(
        "{}",
        kv(&[
            ("ID", text(&v["ID"])),
            ("Enabled", text(&v["Enabled"])),
            (
                "Target",
                format!(
                    "{}/{}/{}",
                    text(&t["Namespace"]),
                    text(&t["Job"]),
                    text(&t["Group"])
                )
            ),
            ("Min", text(&v["Min"])),
            ("Max", text(&v["Max"])),
            ("Status", text(&st["State"])),
            ("Reason", text(&st["Reason"])),
            ("Last Error", text(&st["LastError"])),
            ("Last Evaluated", time_of(&st["LastEvaluated"])),
        ])
    );
    if let Some(checks) = st["Checks"].as_array().filter(|c| !c.is_empty()) {
        let mut rows = vec![
            ["Check", "Metric", "Direction", "Count", "Reason", "Error"]
                .map(String::from)
                .to_vec(),
        ];
        for c in checks {
            rows.push(
                ["Name", "Metric", "Direction", "Count", "Reason", "Error"]
                    .map(|k| text(&c[k]))
                    .to_vec(),
            );
        }
        println!("\nChecks\n{}", columns(&rows));
    }
    println!(
        "\nPolicy\n{}",
        serde_json::to_string_pretty(&v["Policy"]).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
