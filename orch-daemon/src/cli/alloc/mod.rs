//! `orch alloc <verb>`: dispatches the allocation verbs, one file each.

mod checks;
mod exec;
mod fs;
mod logs;
mod restart;
mod signal;
pub(crate) mod status;
mod stop;

use std::process::ExitCode;

use super::flags::Parsed;

const USAGE: &str = "Usage: orch alloc <subcommand> [options] [args]

Subcommands:
    checks   Outputs service health check status information
    exec     Execute commands in task
    fs       Inspect the contents of an allocation directory
    logs     Streams the logs of a task
    restart  Restart a running allocation
    signal   Signal a running allocation
    status   Display allocation status information and metadata
    stop     Stop and reschedule a running allocation";

/// Dispatches `orch alloc <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("checks", checks::run),
        ("exec", exec::run),
        ("fs", fs::run),
        ("logs", logs::run),
        ("restart", restart::run),
        ("signal", signal::run),
        ("status", status::run),
        ("stop", stop::run),
    ];
    super::dispatch("alloc", args, verbs, USAGE)
}

/// An allocation of job `job` (an ID or prefix) for verbs with `-job`, of task group
/// `-group` when given: a running one, else the first.
fn alloc_of_job(client: &super::api::ApiClient, job: &str, p: &Parsed) -> Result<String, String> {
    let job = client.resolve("/v1/jobs", "job", job)?;
    let path = format!("/v1/job/{}/allocations", super::api::encode(&job));
    let allocs = client.get(&path)?;
    let group = p.last("group");
    let of_group: Vec<&serde_json::Value> = allocs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| group.is_none_or(|g| a["TaskGroup"] == g))
        .collect();
    of_group
        .iter()
        .find(|a| a["ClientStatus"] == "running")
        .or_else(|| of_group.first())
        .and_then(|a| a["ID"].as_str().map(str::to_string))
        .ok_or_else(|| match group {
            Some(g) => format!("job {job:?} has no allocations of task group {g:?}"),
            None => format!("job {job:?} has no allocations"),
        })
}

/// The `<allocation> [<task>]` arguments of a verb; a `-task` flag names the task in
/// preference to the second argument, as in Nomad.
fn alloc_and_task(p: &Parsed, usage: &str) -> Result<(String, Option<String>), String> {
    let (id, task_arg) = match p.positional.as_slice() {
        [id] => (id.clone(), None),
        [id, task] => (id.clone(), Some(task.clone())),
        _ => {
            return Err(format!(
                "This command takes one or two arguments: <allocation> <task>\n\n{usage}"
            ));
        }
    };
    Ok((id, p.all("task").last().cloned().or(task_arg)))
}
