//! `orch job inspect`: prints a submitted job (or one of its versions) as JSON.

use std::process::ExitCode;

use serde_json::json;

use super::job_path;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch job inspect [options] <job>

  Inspect is used to see the specification of a submitted job, printed as
  JSON ({\"Job\": ...}).

Inspect Options:

  -version <job version>
    Display the job at the given job version.

  -json
    Output the job in its JSON format (the job alone, without the outer
    Job object).

  -t
    Format and display job using a Go template.

  -hcl
    Output the original HCL (or JSON) the job version was submitted as.

  -with-vars
    With -hcl, also print the command that runs the job again with the
    variables it was submitted with.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("version"),
    FlagSpec::switch("hcl"),
    FlagSpec::switch("with-vars"),
];

/// Runs `orch job inspect`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if p.has("hcl") && p.has("json") {
        return Err("can only use one of -hcl or -json".into());
    }
    if p.has("with-vars") && !p.has("hcl") {
        return Err("can only use -with-vars with -hcl".into());
    }
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    if p.has("hcl") {
        return print_source(&client, &p, &id);
    }
    let job = match p.all("version").last() {
        None => client.get(&job_path(&id))?,
        Some(v) => {
            let want: u64 = v
                .parse()
                .map_err(|_| format!("-version {v:?}: expected a version number"))?;
            let versions = client.get(&format!("{}/versions", job_path(&id)))?;
            versions["Versions"]
                .as_array()
                .and_then(|a| a.iter().find(|j| j["Version"].as_u64() == Some(want)))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "job {id:?} has no version {want}; list them with `orch job history {id}`"
                    )
                })?
        }
    };
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &job);
    }
    crate::cli::output::print_json(&json!({ "Job": job }))
}

/// `-hcl`: the source of the job version (the current one unless `-version`), and with
/// `-with-vars` the command that submits it again, on standard error as Nomad prints it.
fn print_source(
    client: &ApiClient,
    p: &crate::cli::flags::Parsed,
    id: &str,
) -> Result<ExitCode, String> {
    let version = match p.all("version").last() {
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| format!("Error parsing version value {v:?}: expected a version number"))?,
        None => client.get(&job_path(id))?["Version"]
            .as_u64()
            .ok_or_else(|| format!("job {id:?} has no version"))?,
    };
    let sub = client
        .get(&format!("{}/submission?version={version}", job_path(id)))
        .map_err(|e| {
            format!(
                "Error inspecting job: job {id:?} with version {version} has no source ({})",
                e.message
            )
        })?;
    println!("{}", sub["Source"].as_str().unwrap_or_default());
    if p.has("with-vars") {
        eprintln!("{}", rerun_hint(&sub, id));
    }
    Ok(ExitCode::SUCCESS)
}

/// The `job inspect -hcl | job run` line that submits a source with its variables.
fn rerun_hint(sub: &serde_json::Value, id: &str) -> String {
    let ns = sub["Namespace"].as_str().unwrap_or("default");
    let mut args = vec!["-namespace".to_string(), ns.to_string()];
    if let Some(flags) = sub["VariableFlags"].as_object() {
        for (k, v) in flags {
            args.push("-var".into());
            args.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    for line in sub["Variables"].as_str().unwrap_or_default().lines() {
        if !line.trim().is_empty() {
            args.push("-var".into());
            args.push(line.trim().to_string());
        }
    }
    format!(
        "\nTo run this job as originally submitted:\n\n$ orch job inspect -namespace {ns} -hcl {id} |\n    orch job run {} -\n",
        args.join(" ")
    )
}
