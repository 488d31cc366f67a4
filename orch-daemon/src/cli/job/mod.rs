//! `orch job <verb>`: dispatches the job verbs, one file each, and holds what several of
//! them share: the job's API path, the one `<job>` argument, and following the
//! evaluation an update creates.

mod allocs;
mod deployments;
mod diff_fmt;
mod dispatch;
mod eval;
mod history;
mod init;
mod inspect;
pub(crate) mod jobspec;
mod periodic;
mod plan;
mod promote;
mod restart;
mod revert;
mod run;
mod scale;
mod scaling_events;
mod start;
pub(crate) mod status;
mod stop;
mod validate;

use std::process::ExitCode;

use serde_json::Value;

use super::api::{ApiClient, encode};

const USAGE: &str = "Usage: orch job <subcommand> [options] [args]

Subcommands:
    allocs     List allocations for a job
    deployments  List deployments for a job
    dispatch   Dispatch an instance of a parameterized job
    eval       Force an evaluation for the job
    history    Display all tracked versions of a job
    init       Write an example jobspec (example.nomad.hcl)
    inspect    Inspect a submitted job (JSON)
    periodic   Interact with periodic jobs (force a launch)
    plan       Dry-run a job update to see its effects
    promote    Promote a job's canaries
    restart    Restart or reschedule allocations for a job
    revert     Revert to a prior version of the job
    run        Run a new job or update an existing one
    scale      Change the count of a job's task group
    scaling-events  Display the scaling events of a job's task groups
    start      Start a stopped job
    status     Display status information about a job
    stop       Stop a running job
    validate   Check a jobspec (HCL or JSON) and report every problem";

/// Dispatches `orch job <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("validate", validate::run),
        ("init", init::run),
        ("run", run::run),
        ("status", status::run),
        ("stop", stop::run),
        ("inspect", inspect::run),
        ("history", history::run),
        ("revert", revert::run),
        ("scale", scale::run),
        ("scaling-events", scaling_events::run),
        ("plan", plan::run),
        ("dispatch", dispatch::run),
        ("periodic", periodic::run),
        ("allocs", allocs::run),
        ("deployments", deployments::run),
        ("eval", eval::run),
        ("promote", promote::run),
        ("restart", restart::run),
        ("start", start::run),
    ];
    super::dispatch("job", args, verbs, USAGE)
}

/// `/v1/job/<id>`.
fn job_path(id: &str) -> String {
    format!("/v1/job/{}", encode(id))
}

/// Prints the evaluation ID (with `-detach`) or monitors it.
fn follow(client: &ApiClient, reply: &Value, detach: bool) -> Result<ExitCode, String> {
    super::monitor::follow(client, reply, detach, super::monitor::Detached::BareId)
}
