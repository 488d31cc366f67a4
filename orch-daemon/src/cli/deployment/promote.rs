//! `orch deployment promote`: promotes the canaries of a deployment.

use std::process::ExitCode;

use serde_json::json;

use super::target;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::monitor::{Detached, follow};

const USAGE: &str = "Usage: orch deployment promote [options] <deployment id>

  Promotes the canaries of all task groups, or of those named with -group.

Promote Options:

  -group <g>
    Promote this group (repeatable)

  -detach
    Return right after promoting, printing the evaluation ID";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("group"),
    FlagSpec::switch("detach"),
    FlagSpec::switch("verbose"),
];

/// Runs `orch deployment promote`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = target(&client, &p, USAGE)?;
    promote(&client, &id, p.all("group"), p.has("detach"))
}

/// Promotes the canaries of deployment `id` (of `groups`, or all of them) and follows
/// the evaluation (`deployment promote`, `job promote`).
pub(crate) fn promote(
    client: &ApiClient,
    id: &str,
    groups: &[String],
    detach: bool,
) -> Result<ExitCode, String> {
    let body = if groups.is_empty() {
        json!({"DeploymentID": id, "All": true})
    } else {
        json!({"DeploymentID": id, "Groups": groups})
    };
    let reply = client.put(&format!("/v1/deployment/promote/{}", encode(id)), &body)?;
    follow(client, &reply, detach, Detached::Labelled)
}
