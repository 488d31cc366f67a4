//! `orch job deployments`: the deployments of a job, newest first.

use std::process::ExitCode;

use super::job_path;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch job deployments [options] <job>

  Deployments is used to display the deployments for a particular job.

Deployments Options:

  -json
    Output the deployments in a JSON format.

  -latest
    Display the latest deployment only.

  -verbose
    Display full information.

  -all
    Display all deployments matching the job ID, including those from an older
    instance of the job.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("latest"),
    FlagSpec::switch("all"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch job deployments`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    let mut list = if p.has("latest") {
        let latest = client.get(&format!("{}/deployment", job_path(&id)))?;
        if latest.is_null() {
            vec![]
        } else {
            vec![latest]
        }
    } else {
        let all = if p.has("all") { "?all=true" } else { "" };
        let v = client.get(&format!("{}/deployments{all}", job_path(&id)))?;
        v.as_array().cloned().unwrap_or_default()
    };
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &serde_json::Value::Array(list));
    }
    if list.is_empty() {
        println!("No deployments found");
        return Ok(ExitCode::SUCCESS);
    }
    let table = crate::cli::deployment::list::table(&mut list, p.has("verbose"));
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}
