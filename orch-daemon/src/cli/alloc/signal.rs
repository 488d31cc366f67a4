//! `orch alloc signal`: sends a signal to an allocation's tasks.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch alloc signal [options] <allocation> <task>

  Signal an existing allocation. This command is used to signal a specific alloc
  and its subtasks. If no task is provided then all of the allocations subtasks
  will receive the signal.

Signal Specific Options:

  -s
    Specify the signal that the selected tasks should receive (default SIGKILL).

  -task <task-name>
    Specify the individual task that will receive the signal. If task name is
    given with both an argument and the '-task' option, preference is given to
    the '-task' option.

  -verbose
    Show full information.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("s"),
    FlagSpec::value("task"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch alloc signal`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (id, task) = super::alloc_and_task(&p, USAGE)?;
    let signal = p.all("s").last().cloned().unwrap_or_default();
    if !signal.is_empty() && !signal.starts_with("SIG") {
        return Err(format!(
            "-s: expected a signal name such as SIGHUP or SIGUSR1, got {signal:?}"
        ));
    }
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/allocations", "allocation", &id)?;
    let body = json!({"Task": task.unwrap_or_default(), "Signal": signal});
    client.put(
        &format!("/v1/client/allocation/{}/signal", encode(&id)),
        &body,
    )?;
    Ok(ExitCode::SUCCESS)
}
