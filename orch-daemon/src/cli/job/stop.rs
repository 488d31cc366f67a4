//! `orch job stop`: stops (or with `-purge` removes) a job and monitors the
//! deregistration evaluation.

use std::process::ExitCode;

use super::{follow, job_path};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch job stop [options] <job>

  Stops a job (and with -purge removes it), then monitors the deregistration evaluation.

Stop Options:

  -purge
    Remove the job from the state entirely

  -detach
    Return right after the stop, printing the evaluation ID

  -yes
    Accepted for compatibility (orch does not prompt)";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("purge"),
    FlagSpec::switch("detach"),
    FlagSpec::switch("yes"),
    FlagSpec::switch("verbose"),
    FlagSpec::switch("global"),
    FlagSpec::refused_value(
        "eval-priority",
        "the servers take no evaluation priority for a stop yet",
    ),
    FlagSpec::refused_switch(
        "no-shutdown-delay",
        "the servers take no shutdown-delay override for a job stop yet; use `orch alloc stop -no-shutdown-delay`",
    ),
];

/// Runs `orch job stop`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    let purge = if p.has("purge") { "?purge=true" } else { "" };
    let reply = client.delete(&format!("{}{purge}", job_path(&id)))?;
    follow(&client, &reply, p.has("detach"))
}
