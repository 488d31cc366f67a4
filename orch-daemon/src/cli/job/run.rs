//! `orch job run`: submits a jobspec and monitors its evaluation, or prints it as API
//! JSON (`-output`).

use std::process::ExitCode;

use super::jobspec;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};
use crate::cli::table::text;

const USAGE: &str = "Usage: orch job run [options] <path>

  Starts running a new job or updates an existing job using the jobspec at
  <path> (HCL2 or JSON; \"-\" reads standard input).

  After the job is submitted, this command monitors the evaluation it created
  until placement is done (ctrl+c ends the monitor early, the job keeps
  running).

  Exit codes: 0 when the job was submitted and scheduled, 2 when allocations
  could not be placed (constraints, exhausted resources ...), 1 on any other
  error.

Run Options:

  -check-index
    Register or update the job only if its modify index on the servers is
    still this value (as `orch job plan` prints it); 0 registers it only if it
    does not exist yet.

  -detach
    Return right after submitting, printing the evaluation ID (see `orch eval
    status`) instead of monitoring it.

  -eval-priority
    The priority of the evaluations this submission creates (1 to 100);
    defaults to the job's priority.

  -json
    Read the jobspec file as JSON. An outer object with a Job field (from
    `orch job inspect` or `orch job run -output`) gives the job.

  -hcl2-strict
    An error for a -var or -var-file value the jobspec does not declare.
    Defaults to true; orch cannot turn it off.

  -output
    Print the JSON that would be submitted to the HTTP API, without
    submitting the job.

  -ui
    Open the job's page of the web UI once it is submitted.

  -policy-override
    Override soft-mandatory Sentinel policies (orch has none: no effect).

  -preserve-counts
    Keep the existing task group counts when updating a job.

  -preserve-resources
    Keep the existing task resources when updating a job (not supported by
    orch).

  -consul-namespace
    Not supported: orch has no Consul integration.

  -vault-namespace
    Not supported: orch has no Vault integration.

  -var 'key=value'
    Variable for the jobspec; repeatable.

  -var-file=path
    Path to an HCL2 file of variable values; repeatable.

  -verbose
    Display full information (full IDs).";

/// Flags of `job run` besides the common and jobspec ones.
const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("detach"),
    FlagSpec::switch("verbose"),
    FlagSpec::value("check-index"),
    FlagSpec::value("eval-priority"),
    FlagSpec::switch("output"),
    FlagSpec::switch("ui"),
    FlagSpec::switch("policy-override"),
    FlagSpec::switch("preserve-counts"),
    FlagSpec::refused_switch(
        "preserve-resources",
        "an update always takes the jobspec's resources",
    ),
    FlagSpec::refused_value("consul-namespace", "it has no Consul integration"),
];

/// Runs `orch job run`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(parsed) = parse_verb(args, &[COMMON, jobspec::FLAGS, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let body = request(&parsed)?;
    if parsed.has("output") {
        println!("{}", crate::cli::output::json_text(&body)?);
        return Ok(ExitCode::SUCCESS);
    }
    let client = ApiClient::from_flags(&parsed)?;
    let reply = client.put("/v1/jobs", &body)?;
    let warnings = text(&reply["Warnings"]);
    if !warnings.is_empty() {
        println!("Job Warnings:\n{warnings}\n");
    }
    let eval_id = text(&reply["EvalID"]);
    let id = text(&body["Job"]["ID"]);
    if eval_id.is_empty() || parsed.has("detach") {
        println!("Job registration successful");
        if !eval_id.is_empty() {
            println!("Evaluation ID: {eval_id}");
        }
        return open_ui(&parsed, &id, ExitCode::SUCCESS);
    }
    let code = crate::cli::monitor::monitor(&client, &eval_id)?;
    open_ui(&parsed, &id, ExitCode::from(code))
}

/// The register request: the job and the options its flags ask for.
fn request(parsed: &Parsed) -> Result<serde_json::Value, String> {
    let (job, submission) = jobspec::load_submitted(parsed)?;
    let mut body = serde_json::json!({ "Job": job, "Submission": submission });
    if let Some(i) = parsed.last("check-index") {
        let index: u64 = i.parse().map_err(|_| {
            format!("Error parsing check-index value {i:?}: expected the job modify index from `orch job plan`")
        })?;
        body["EnforceIndex"] = true.into();
        body["JobModifyIndex"] = index.into();
    }
    if let Some(p) = parsed.last("eval-priority") {
        let p: u8 = p
            .parse()
            .ok()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| format!("-eval-priority {p:?}: expected a priority from 1 to 100"))?;
        body["EvalPriority"] = p.into();
    }
    if parsed.has("preserve-counts") {
        body["PreserveCounts"] = true.into();
    }
    if parsed.has("policy-override") {
        body["PolicyOverride"] = true.into();
    }
    Ok(body)
}

/// `-ui`: opens the job's page of the web UI (`orch ui <job>`); keeps `code` otherwise.
fn open_ui(parsed: &Parsed, id: &str, code: ExitCode) -> Result<ExitCode, String> {
    if parsed.has("ui") {
        crate::cli::ui::open_for(parsed, "jobs", id)?;
    }
    Ok(code)
}
