//! `orch job plan`: dry-runs a jobspec against the cluster and prints what would change,
//! with Nomad's exit codes.

use std::process::ExitCode;

use serde_json::{Map, Value, json};

use super::{job_path, jobspec};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::output::print_json;
use crate::cli::table::{failed_groups, text};

const USAGE: &str = "Usage: orch job plan [options] <path>

  Dry-runs the jobspec against the cluster's current state and prints what would change.
  Exit codes (as Nomad's): 0 no allocations created or destroyed, 1 allocations created
  or destroyed, 255 error.

Options:
  -var 'k=v'     Set an HCL variable (repeatable)
  -var-file=<f>  Read HCL variables from a file (repeatable)";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("var"),
    FlagSpec::value("var-file"),
    FlagSpec::switch("diff"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch job plan`: errors exit 255, as Nomad's.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    match plan(args) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(ExitCode::from(255))
        }
    }
}

fn plan(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let job = jobspec::load(&p)?;
    let path = p.positional.first().cloned().unwrap_or_default();
    let client = ApiClient::from_flags(&p)?;
    let body = json!({"Job": job, "Diff": true});
    let reply = client.put(&format!("{}/plan", job_path(&job.id)), &body)?;
    if p.has("json") {
        print_json(&reply)?;
    }
    let diff_type = text(&reply["Diff"]["Type"]);
    let updates = reply["Annotations"]["DesiredTGUpdates"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let (group_lines, changes) = group_lines(&updates, &diff_type);
    if !p.has("json") {
        print_plan(&reply, &job.id, &diff_type, &group_lines, &path);
    }
    Ok(if changes {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One `Task Group: "g" (1 create, ...)` line per group, and whether any group creates,
/// destroys or migrates allocations.
fn group_lines(updates: &Map<String, Value>, diff_type: &str) -> (Vec<String>, bool) {
    let mut changes = false;
    let mut lines = Vec::new();
    for (g, u) in updates {
        let n = |k: &str| u[k].as_u64().unwrap_or(0);
        let mut parts = Vec::new();
        for (key, label) in [
            ("Place", "create"),
            ("Stop", "destroy"),
            ("Migrate", "migrate"),
            ("InPlaceUpdate", "in-place update"),
            ("DestructiveUpdate", "create/destroy update"),
            ("Canary", "canary"),
            ("Ignore", "ignore"),
        ] {
            if n(key) > 0 {
                parts.push(format!("{} {label}", n(key)));
            }
        }
        if ["Place", "Stop", "Migrate", "DestructiveUpdate", "Canary"]
            .iter()
            .any(|k| n(k) > 0)
        {
            changes = true;
        }
        let mark = match diff_type {
            "Added" => "+",
            "Deleted" => "-",
            "Edited" => "+/-",
            _ => "",
        };
        let detail = if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        };
        lines.push(
            format!("{mark} Task Group: {g:?}{detail}")
                .trim()
                .to_string(),
        );
    }
    (lines, changes)
}

/// The human plan: the job and its groups, the scheduler dry-run, the modify index.
fn print_plan(reply: &Value, job_id: &str, diff_type: &str, group_lines: &[String], path: &str) {
    let mark = match diff_type {
        "Added" => "+ ",
        "Deleted" => "- ",
        "Edited" => "+/- ",
        _ => "",
    };
    println!("{mark}Job: {job_id:?}");
    for l in group_lines {
        println!("{l}");
    }
    println!("\nScheduler dry-run:");
    let failed = &reply["FailedTGAllocs"];
    if failed.as_object().is_some_and(|o| !o.is_empty()) {
        println!("- WARNING: Failed to place all allocations.");
        for line in failed_groups(failed, "  ") {
            println!("{line}");
        }
    } else {
        println!("- All tasks successfully allocated.");
    }
    let index = reply["JobModifyIndex"].as_u64().unwrap_or(0);
    println!("\nJob Modify Index: {index}");
    println!(
        "To submit the job with version verification run:\n\norch job run -check-index {index} {path}\n\nWhen running the job with the check-index flag, the job will only be run if the\njob modify index given matches the server-side version. If the index has\nchanged, another user has modified the job and the plan's results are\npotentially invalid."
    );
}
