//! `orch job ...`: `validate` and `run` (submit and monitor, or `-output`); the other
//! verbs are in [`super::job_cmds`].

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::client::{Client, parse_args};
use super::flags::{FlagSpec, Parsed, parse};
use super::job_cmds;

const JOBSPEC_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "var",
        takes_value: true,
    },
    FlagSpec {
        name: "var-file",
        takes_value: true,
    },
    FlagSpec {
        name: "output",
        takes_value: false,
    },
];

const JOB_USAGE: &str = "Usage: orch job <subcommand> [options] [args]

Subcommands:
    dispatch   Dispatch an instance of a parameterized job
    history    Display all tracked versions of a job
    init       Write an example jobspec (example.nomad.hcl)
    inspect    Inspect a submitted job (JSON)
    periodic   Interact with periodic jobs (force a launch)
    plan       Dry-run a job update to see its effects
    revert     Revert to a prior version of the job
    run        Run a new job or update an existing one
    scale      Change the count of a job's task group
    scaling-events  Display the scaling events of a job's task groups
    status     Display status information about a job
    stop       Stop a running job
    validate   Check a jobspec (HCL or JSON) and report every problem";

const RUN_HELP: &str = "Usage: orch job run [options] <path>

  Submits the jobspec (HCL or JSON, - for standard input) to the agent and monitors the
  evaluation it creates. Exit codes: 0 success, 2 when allocations could not be placed,
  1 on any other error.

Options:
  -address=<url>   Agent address (default: ORCH_ADDR, NOMAD_ADDR, http://127.0.0.1:4646)
  -namespace=<ns>  Namespace of the job
  -detach          Return right after submitting, printing the evaluation ID
  -check-index=<i> Only submit if the job's modify index is still <i> (0: job must be new)
  -output          Print the job as API JSON instead of submitting it
  -var 'k=v'       Set an HCL variable (repeatable)
  -var-file=<f>    Read HCL variables from a file (repeatable)";

/// Flags of `job run` besides the common ones.
const RUN_FLAGS: &[(&str, bool)] = &[
    ("var", true),
    ("var-file", true),
    ("output", false),
    ("detach", false),
    ("verbose", false),
    ("check-index", true),
];

/// Dispatches `orch job <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("validate") => validate(rest),
        Some("init") => super::init::run(rest),
        Some("run") => run_job(rest),
        Some("-h" | "-help" | "--help" | "help") | None => {
            println!("{JOB_USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(verb) => job_cmds::run(verb, rest, JOB_USAGE),
    }
}

fn validate(args: &[String]) -> Result<ExitCode, String> {
    let job = load(args)?;
    println!(
        "Job validation successful ({} task group(s) in job {:?})",
        job.task_groups.len(),
        job.id
    );
    Ok(ExitCode::SUCCESS)
}

fn run_job(args: &[String]) -> Result<ExitCode, String> {
    let Some(parsed) = parse_args(args, RUN_FLAGS, RUN_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let job = load_parsed(&parsed)?;
    let mut body = serde_json::json!({ "Job": job });
    if let Some(i) = parsed.all("check-index").last() {
        let index: u64 = i.parse().map_err(|_| {
            format!("-check-index {i:?}: expected the job modify index from `orch job plan`")
        })?;
        body["EnforceIndex"] = true.into();
        body["JobModifyIndex"] = index.into();
    }
    if parsed.has("output") {
        let text = serde_json::to_string_pretty(&body)
            .map_err(|e| format!("cannot encode job as JSON: {e}"))?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let client = Client::from_flags(&parsed)?;
    let reply = client.put("/v1/jobs", &body)?;
    let warnings = super::table::text(&reply["Warnings"]);
    if !warnings.is_empty() {
        println!("Job Warnings:\n{warnings}\n");
    }
    let eval_id = super::table::text(&reply["EvalID"]);
    if eval_id.is_empty() {
        println!("Job registration successful");
        return Ok(ExitCode::SUCCESS);
    }
    if parsed.has("detach") {
        println!("Job registration successful");
        println!("Evaluation ID: {eval_id}");
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(super::monitor::monitor(&client, &eval_id)?))
}

/// Reads, parses, canonicalizes and validates the jobspec named on the command line.
fn load(args: &[String]) -> Result<orch_core::model::Job, String> {
    let parsed = parse(args, JOBSPEC_FLAGS)?;
    load_parsed(&parsed)
}

/// [`load`] for already parsed flags (`-var`, `-var-file`, one positional path).
pub fn load_parsed(parsed: &Parsed) -> Result<orch_core::model::Job, String> {
    let [path] = parsed.positional.as_slice() else {
        return Err("expected exactly one jobspec path (use - for standard input)".into());
    };
    let mut vars = BTreeMap::new();
    for file in parsed.all("var-file") {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read -var-file {file}: {e}"))?;
        for (k, v) in orch_core::jobspec::parse_var_file(file, &text).map_err(|e| e.to_string())? {
            vars.insert(k, v);
        }
    }
    for pair in parsed.all("var") {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("-var {pair:?}: expected name=value"))?;
        vars.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read standard input: {e}"))?
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read jobspec {path}: {e}"))?
    };
    orch_core::jobspec::parse_jobspec(path, &text, &vars).map_err(|e| e.to_string())
}
