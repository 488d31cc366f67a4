//! `orch job promote`: promotes the canaries of a job's latest deployment.

use std::process::ExitCode;

use super::job_path;
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::table::text;

const USAGE: &str = "Usage: orch job promote [options] <job id>

  Promote is used to promote task groups in the most recent deployment for the
  given job. Promotion should occur when the deployment has placed canaries for a
  task group and those canaries have been deemed healthy. When a task group is
  promoted, the rolling upgrade of the remaining allocations is unblocked. If the
  canaries are found to be unhealthy, the deployment may either be failed using
  the \"nomad deployment fail\" command, the job can be failed forward by
  submitting a new version or failed backwards by reverting to an older version
  using the \"nomad job revert\" command.

Promote Options:

  -group
    Group may be specified many times and is used to promote that particular
    group. If no specific groups are specified, all groups are promoted.

  -detach
    Return immediately instead of entering monitor mode. After deployment
    resume, the evaluation ID will be printed to the screen, which can be used
    to examine the evaluation using the eval-status command.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("group"),
    FlagSpec::switch("detach"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch job promote`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    let deployment = client.get(&format!("{}/deployment", job_path(&id)))?;
    let deployment_id = text(&deployment["ID"]);
    if deployment_id.is_empty() {
        return Err(format!("Job {id:?} has no deployment to promote"));
    }
    crate::cli::deployment::promote::promote(
        &client,
        &deployment_id,
        p.all("group"),
        p.has("detach"),
    )
}
