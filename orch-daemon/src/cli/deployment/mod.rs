//! `orch deployment <verb>`: dispatches the deployment verbs, one file each, and holds
//! what several of them share: the one `<deployment>` argument, following the
//! evaluation an update creates, and pausing or resuming.

mod fail;
pub(crate) mod list;
mod pause;
pub(crate) mod promote;
mod resume;
pub(crate) mod status;
mod unblock;

use std::process::ExitCode;

use serde_json::json;

pub(crate) use status::format_deployment;

use super::api::{ApiClient, encode};
use super::flags::{COMMON, FlagSpec, Parsed, parse_verb};
use super::table::short;

const USAGE: &str = "Usage: orch deployment <subcommand> [options] [args]

Subcommands:
    list     List all deployments
    status   Display the status of a deployment (-monitor to follow it)
    promote  Promote canaries in a deployment
    fail     Manually fail a deployment
    pause    Pause a deployment
    resume   Resume a paused deployment
    unblock  Unblock a multiregion deployment waiting for its peer regions";

/// Dispatches `orch deployment <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("list", list::run),
        ("status", status::run),
        ("promote", promote::run),
        ("fail", fail::run),
        ("pause", pause::run),
        ("resume", resume::run),
        ("unblock", unblock::run),
    ];
    super::dispatch("deployment", args, verbs, USAGE)
}

/// The one positional argument (a deployment ID or prefix), resolved to a full ID.
fn target(client: &ApiClient, p: &Parsed, help: &str) -> Result<String, String> {
    let id = p.one_arg("deployment", help)?;
    client.resolve("/v1/deployments", "deployment", id)
}

/// The flags of `pause` and `resume`.
const PAUSE_FLAGS: &[FlagSpec] = &[FlagSpec::switch("detach"), FlagSpec::switch("verbose")];

/// `orch deployment pause` (`pause`) or `resume` (not `pause`), with that verb's `help`.
fn set_paused(args: &[String], pause: bool, help: &str) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, PAUSE_FLAGS], help)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = target(&client, &p, help)?;
    let reply = client.put(
        &format!("/v1/deployment/pause/{}", encode(&id)),
        &json!({"DeploymentID": id, "Pause": pause}),
    )?;
    let what = if pause { "paused" } else { "resumed" };
    println!("Deployment {:?} {what}", short(&id));
    crate::cli::monitor::follow(
        &client,
        &reply,
        p.has("detach"),
        crate::cli::monitor::Detached::Labelled,
    )
}
