//! `orch eval status`: an evaluation's details and why its placements failed, or with
//! `-monitor` the evaluation followed until it finishes.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{failed_groups, kv, short, text, time_of};

const USAGE: &str = "Usage: orch eval status [options] <evaluation>

  Details of an evaluation (ID or unique prefix) and why placements failed.

Status Options:

  -json
    Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("verbose"),
    FlagSpec::switch("monitor"),
    FlagSpec::refused_switch("ui", "orch's web UI has no evaluations page"),
];

/// Runs `orch eval status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let id = p.one_arg("eval", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/evaluations", "evaluation", id)?;
    if p.has("monitor") {
        return Ok(ExitCode::from(crate::cli::monitor::monitor(&client, &id)?));
    }
    let e = client.get(&format!("/v1/evaluation/{}", encode(&id)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &e);
    }
    let failed = &e["FailedTGAllocs"];
    let has_failures = failed.as_object().is_some_and(|o| !o.is_empty());
    println!(
        "{}",
        kv(&[
            ("ID", text(&e["ID"])),
            ("Create Time", time_of(&e["CreateTime"])),
            ("Modify Time", time_of(&e["ModifyTime"])),
            ("Status", text(&e["Status"])),
            ("Status Description", text(&e["StatusDescription"])),
            ("Type", text(&e["Type"])),
            ("TriggeredBy", text(&e["TriggeredBy"])),
            ("Job ID", text(&e["JobID"])),
            ("Namespace", text(&e["Namespace"])),
            ("Priority", text(&e["Priority"])),
            ("Placement Failures", has_failures.to_string()),
            ("Previous Eval", text(&e["PreviousEval"])),
            ("Next Eval", text(&e["NextEval"])),
            ("Blocked Eval", text(&e["BlockedEval"])),
        ])
    );
    if has_failures {
        println!("\nFailed Placements");
        for line in failed_groups(failed, "") {
            println!("{line}");
        }
        let blocked = text(&e["BlockedEval"]);
        if !blocked.is_empty() {
            println!(
                "\nEvaluation {:?} waiting for additional capacity to place remainder",
                short(&blocked)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
