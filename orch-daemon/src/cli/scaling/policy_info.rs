//! `orch scaling policy info`: a scaling policy and what the leader's autoscaler last
//! did with it.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, OUTPUT, VERBOSE, parse_verb};
use crate::cli::table::{columns, kv, text, time_of};

const USAGE: &str = "Usage: orch scaling policy info [options] <policy_id>

  The policy (ID or unique prefix) and what the leader's autoscaler last did with it.

Info Options:

  -json
    Print the raw API JSON

  -verbose
    Display full information";

/// Runs `orch scaling policy info`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, VERBOSE], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let id = p.one_arg("policy", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/scaling/policies", "scaling policy", id)?;
    let v = client.get(&format!("/v1/scaling/policy/{}", encode(&id)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
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
