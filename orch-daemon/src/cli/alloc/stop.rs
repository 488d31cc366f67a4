//! `orch alloc stop`: stops an allocation; the scheduler replaces it elsewhere or on
//! the same node, as for any allocation its job still wants.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch alloc stop [options] <allocation>

  Stop an existing allocation. This command is used to signal a specific alloc
  to shut down. When the allocation has been shut down, it will then be
  rescheduled. An interactive monitoring session will display log lines as the
  allocation completes shutting down. It is safe to exit the monitor early with
  ctrl-c.

Stop Specific Options:

  -detach
    Return immediately instead of entering monitor mode. After the stop command
    is submitted, a new evaluation ID is printed to the screen, which can be used
    to examine the rescheduling evaluation using the eval-status command.

  -no-shutdown-delay
    Ignore the group and task shutdown_delay configuration so there is no delay
    between service deregistration and task shutdown.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("detach"),
    FlagSpec::switch("no-shutdown-delay"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch alloc stop`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let id = p.one_arg("allocation", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/allocations", "allocation", id)?;
    let mut path = format!("/v1/allocation/{}/stop", encode(&id));
    if p.has("no-shutdown-delay") {
        path.push_str("?no_shutdown_delay=true");
    }
    let reply = client.put(&path, &json!({}))?;
    crate::cli::monitor::follow(
        &client,
        &reply,
        p.has("detach"),
        crate::cli::monitor::Detached::BareId,
    )
}
