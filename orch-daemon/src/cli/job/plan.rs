//! `orch job plan`: dry-runs a jobspec against the cluster and prints what would change,
//! with Nomad's exit codes.

use std::process::ExitCode;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{diff_fmt, job_path, jobspec};
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
    let (notes, changes) = group_notes(&updates);
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
    // As Nomad's: the warnings first (orch's include what a metric gate holds).
    let warnings = text(&reply["Warnings"]);
    if !warnings.is_empty() {
        println!("Job Warnings:\n{warnings}\n");
    }
    // `-diff` defaults to true: only `-diff=false` hides the job's changes.
    if p.last("diff") != Some("false") {
        let mut diff = reply["Diff"].clone();
        if diff["ID"].is_null() {
            diff["ID"] = job.id.clone().into();
        }
        println!("{}\n", plan_diff(&diff, &notes, p.has("verbose")));
    }
    print_plan(&reply, &path);
    Ok(code)
}

/// Each group's ` (1 create, 2 ignore)` note, Nomad's update names in its sorted
/// order, and whether any group creates, destroys or migrates allocations.
fn group_notes(updates: &Map<String, Value>) -> (BTreeMap<String, String>, bool) {
    let mut changes = false;
    let mut notes = BTreeMap::new();
    for (g, u) in updates {
        let n = |k: &str| u[k].as_u64().unwrap_or(0);
        let mut parts: Vec<(&str, u64)> = [
            ("Place", "create"),
            ("Stop", "destroy"),
            ("Migrate", "migrate"),
            ("InPlaceUpdate", "in-place update"),
            ("DestructiveUpdate", "create/destroy update"),
            ("Canary", "canary"),
            ("Ignore", "ignore"),
        ]
        .into_iter()
        .filter(|(key, _)| n(key) > 0)
        .map(|(key, label)| (label, n(key)))
        .collect();
        parts.sort();
        if ["Place", "Stop", "Migrate", "DestructiveUpdate", "Canary"]
            .iter()
            .any(|k| n(k) > 0)
        {
            changes = true;
        }
        let note = if parts.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = parts.iter().map(|(l, c)| format!("{c} {l}")).collect();
            format!(" ({})", list.join(", "))
        };
        notes.insert(g.clone(), note);
    }
    (notes, changes)
}

/// The job's diff as Nomad's plan prints it, every planned group listed (a group the
/// diff leaves out, unchanged, gets its line too).
fn plan_diff(diff: &Value, notes: &BTreeMap<String, String>, verbose: bool) -> String {
    let mut diff = diff.clone();
    if diff["Type"].is_null() {
        diff["Type"] = "None".into();
    }
    let listed: Vec<String> = diff["TaskGroups"]
        .as_array()
        .map(|a| a.iter().map(|g| text(&g["Name"])).collect())
        .unwrap_or_default();
    let mut groups = diff["TaskGroups"].as_array().cloned().unwrap_or_default();
    for name in notes.keys().filter(|n| !listed.contains(n)) {
        groups.push(json!({"Type": "None", "Name": name}));
    }
    diff["TaskGroups"] = Value::Array(groups);
    let note = |g: &str| notes.get(g).cloned().unwrap_or_default();
    diff_fmt::format_job_diff_noted(&diff, verbose, &note)
}

/// The scheduler dry-run and the modify index, after the diff.
fn print_plan(reply: &Value, path: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_notes_list_nomads_update_names_in_sorted_order() {
        let updates = json!({"web": {"Place": 1, "Ignore": 2, "DestructiveUpdate": 3},
                             "db": {"Ignore": 1}});
        let (notes, changes) = group_notes(updates.as_object().unwrap());
        assert!(changes);
        assert_eq!(
            notes["web"],
            " (1 create, 3 create/destroy update, 2 ignore)"
        );
        assert_eq!(notes["db"], " (1 ignore)");
        let (_, changes) = group_notes(json!({"db": {"Ignore": 1}}).as_object().unwrap());
        assert!(!changes);
    }

    #[test]
    fn the_plan_diff_lists_every_planned_group() {
        let diff = json!({"Type": "Edited", "ID": "web", "Fields": [], "Objects": [],
            "TaskGroups": [{"Type": "Edited", "Name": "g", "Objects": [], "Tasks": [],
                "Fields": [{"Type": "Edited", "Name": "Count", "Old": "1", "New": "2"}]}]});
        let notes: BTreeMap<String, String> = [
            ("g".to_string(), " (1 create, 1 ignore)".to_string()),
            ("other".to_string(), " (2 ignore)".to_string()),
        ]
        .into();
        assert_eq!(
            plan_diff(&diff, &notes, false),
            [
                "+/- Job: \"web\"",
                "+/- Task Group: \"g\" (1 create, 1 ignore)",
                "  +/- Count: \"1\" => \"2\"",
                "    Task Group: \"other\" (2 ignore)",
            ]
            .join("\n")
        );
        // A new job: headers only, as Nomad prints an added job without -verbose.
        let added = json!({"Type": "Added", "ID": "web", "Fields": [
                {"Type": "Added", "Name": "Priority", "Old": "", "New": "50"}],
            "TaskGroups": [{"Type": "Added", "Name": "g", "Tasks": [
                {"Type": "Added", "Name": "t"}]}]});
        let notes = [("g".to_string(), " (1 create)".to_string())].into();
        assert_eq!(
            plan_diff(&added, &notes, false),
            "+ Job: \"web\"\n+ Task Group: \"g\" (1 create)\n  + Task: \"t\""
        );
    }
}
