//! `orch job plan`: dry-runs a jobspec against the cluster and prints what would change,
//! with Nomad's exit codes.

use std::process::ExitCode;

use serde_json::{Map, Value, json};

use super::{job_path, jobspec};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::output;
use crate::cli::table::{failed_groups, text};

const USAGE: &str = "Usage: orch job plan [options] <path>

  Plan invokes a dry-run of the scheduler to determine the effects of submitting
  either a new or updated version of a job. The plan will not result in any
  changes to the cluster but gives insight into whether the job could be run
  successfully and how it would affect existing allocations.

  If the supplied path is \"-\", the jobfile is read from stdin.

  A job modify index is returned with the plan. This value can be used when
  submitting the job using \"orch job run -check-index\", which will check that
  the job was not modified between the plan and run command before invoking the
  scheduler. This ensures the job has not been modified since the plan.

  Plan will return one of the following exit codes:
    * 0: No allocations created or destroyed.
    * 1: Allocations created or destroyed.
    * 255: Error determining plan results.

Plan Options:

  -diff
    Determines whether the diff between the remote job and planned job is shown.
    Defaults to true.

  -json
    Parses the job file as JSON. If the outer object has a Job field, such as
    from \"orch job inspect\" or \"orch job run -output\", the value of the field
    is used as the job.

  -json-output
    Print the plan response as JSON instead of the human output.

  -t
    Format and display the plan response using a Go template.

  -hcl2-strict
    Whether an error should be produced from the HCL2 parser where a variable
    has been supplied which is not defined within the root variables. Defaults
    to true (orch cannot turn it off).

  -policy-override
    Sets the flag to force override any soft mandatory Sentinel policies (orch
    has none: no effect).

  -vault-namespace
    Not supported: orch has no Vault integration.

  -var 'key=value'
    Variable for template, can be used multiple times.

  -var-file=path
    Path to HCL2 file containing user variables.

  -verbose
    Increase diff verbosity.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("diff"),
    FlagSpec::switch("verbose"),
    FlagSpec::switch("json-output"),
    FlagSpec::value("t"),
    FlagSpec::switch("policy-override"),
];

/// Runs `orch job plan`: errors (usage errors too) exit 255, as Nomad's.
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
    let Some(p) = parse_verb(args, &[COMMON, jobspec::FLAGS, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if p.has("json-output") && p.has("t") {
        return Err("Both -json-output and -t formatting are not allowed".into());
    }
    let job = jobspec::load(&p)?;
    let path = p.positional.first().cloned().unwrap_or_default();
    let client = ApiClient::from_flags(&p)?;
    let mut body = json!({"Job": job, "Diff": true});
    if p.has("policy-override") {
        body["PolicyOverride"] = true.into();
    }
    let reply = client.put(&format!("{}/plan", job_path(&job.id)), &body)?;
    let diff_type = text(&reply["Diff"]["Type"]);
    let updates = reply["Annotations"]["DesiredTGUpdates"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let (group_lines, changes) = group_lines(&updates, &diff_type);
    let code = if changes && diff_type != "None" {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if p.has("json-output") || p.has("t") {
        let out = output::format(p.has("json-output"), p.last("t"), &reply)?;
        println!("{out}");
        return Ok(code);
    }
    // `-diff` defaults to true: only `-diff=false` hides the job's changes.
    let shown = (p.last("diff") != Some("false")).then_some(group_lines.as_slice());
    print_plan(&reply, &job.id, &diff_type, shown, &path);
    Ok(code)
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

/// The human plan: the job and its groups (unless `-diff=false`), the scheduler
/// dry-run, the modify index.
fn print_plan(
    reply: &Value,
    job_id: &str,
    diff_type: &str,
    group_lines: Option<&[String]>,
    path: &str,
) {
    let mark = match diff_type {
        "Added" => "+ ",
        "Deleted" => "- ",
        "Edited" => "+/- ",
        _ => "",
    };
    if let Some(group_lines) = group_lines {
        println!("{mark}Job: {job_id:?}");
        for l in group_lines {
            println!("{l}");
        }
        println!();
    }
    println!("Scheduler dry-run:");
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
