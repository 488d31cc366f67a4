//! `orch alloc restart`: restarts an allocation's running tasks in place, on the same
//! node and outside their restart policy.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch alloc restart [options] <allocation> <task>

  Restart an existing allocation. This command is used to restart a specific alloc
  and its tasks. If no task is provided then all of the allocation's tasks that are
  currently running will be restarted.

  Use the option '-all-tasks' to restart tasks that have already run, such as
  non-sidecar prestart and poststart tasks.

Restart Specific Options:

  -all-tasks
    If set, all tasks in the allocation will be restarted, even the ones that
    already ran. This option cannot be used with '-task' or the '<task>' argument.

  -task <task-name>
    Specify the individual task to restart. If task name is given with both an
    argument and the '-task' option, preference is given to the '-task' option.

  -verbose
    Show full information.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("all-tasks"),
    FlagSpec::value("task"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch alloc restart`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (id, task) = super::alloc_and_task(&p, USAGE)?;
    let all_tasks = p.has("all-tasks");
    if all_tasks && task.is_some() {
        return Err("The -all-tasks option cannot be used with a task name".into());
    }
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/allocations", "allocation", &id)?;
    let body = json!({"TaskName": task.unwrap_or_default(), "AllTasks": all_tasks});
    client.put(
        &format!("/v1/client/allocation/{}/restart", encode(&id)),
        &body,
    )?;
    Ok(ExitCode::SUCCESS)
}
