//! `orch job periodic force`: launches a child of a periodic job now; and the
//! `Next Periodic Launch` line of `orch job status`.

use std::process::ExitCode;

use orch_core::duration::format_go_duration as go_duration;
use orch_core::model::PeriodicConfig;
use serde_json::{Value, json};

use super::follow;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, is_help, parse_verb, print_usage};
use crate::cli::table::text;

const USAGE: &str = "Usage: orch job periodic <subcommand> [options] [args]

  This command groups subcommands for interacting with periodic jobs.

  Force a periodic job:

      $ orch job periodic force <job_id>

  Please see the individual subcommand help for detailed usage information.

Subcommands:
    force    Force the launch of a periodic job";

const FORCE_USAGE: &str = "Usage: orch job periodic force <job id>

  This command is used to force the creation of a new instance of a periodic job.
  This is used to immediately run a periodic job, even if it violates the job's
  prohibit_overlap setting.

  When ACLs are enabled, this command requires a token with the 'submit-job'
  capability for the job's namespace.

Periodic Force Options:

  -detach
    Return immediately instead of entering monitor mode. After the force,
    the evaluation ID will be printed to the screen, which can be used to
    examine the evaluation using the eval-status command.

  -verbose
    Display full information.";

const FORCE_FLAGS: &[FlagSpec] = &[FlagSpec::switch("detach"), FlagSpec::switch("verbose")];

/// Runs `orch job periodic <subcommand>` (only `force`).
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    match args.split_first() {
        Some((sub, rest)) if sub == "force" => force(rest),
        Some((sub, _)) if is_help(sub) => print_usage(USAGE),
        Some((sub, _)) => Err(format!(
            "unknown command `orch job periodic {sub}`\n\n{USAGE}"
        )),
        None => crate::cli::flags::usage_exit(USAGE),
    }
}

/// `orch job periodic force <job>`.
fn force(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FORCE_FLAGS], FORCE_USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let job = p.one_arg("job", FORCE_USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", job)?;
    let reply = client.put(
        &format!("/v1/job/{}/periodic/force", encode(&id)),
        &json!({}),
    )?;
    if p.has("detach") {
        println!("Force periodic successful");
        println!("Evaluation ID: {}", text(&reply["EvalID"]));
        return Ok(ExitCode::SUCCESS);
    }
    follow(&client, &reply, false)
}

const NANOS: i64 = 1_000_000_000;

/// Nomad's `Next Periodic Launch` value, `<time> (<duration> from now)`: computed here
/// from the job's periodic block as Nomad's CLI does, in the job's time zone, with the
/// difference between whole seconds printed as a Go duration. `None` when the block is
/// disabled, unreadable or never fires again.
pub(super) fn next_periodic_launch(periodic: &Value, now: i64) -> Option<String> {
    let config: PeriodicConfig = serde_json::from_value(periodic.clone()).ok()?;
    let next = orch_core::periodic::next_launch(&config, now)?;
    let secs = next.at.div_euclid(NANOS) - now.div_euclid(NANOS);
    Some(format!(
        "{} ({} from now)",
        next.rfc3339(),
        go_duration(secs.saturating_mul(NANOS))
    ))
}

#[cfg(test)]
mod tests;
