//! `orch job scale`: sets the count of a job's task group and monitors the evaluation.

use std::process::ExitCode;

use serde_json::json;

use super::{follow, job_path};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};
use crate::cli::table::text;

const USAGE: &str = "Usage: orch job scale [options] <job> [<group>] <count>

  Sets the count of a task group (the group may be left out when the job has one).

Scale Options:

  -detach
    Return right after the change, printing the evaluation ID";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("detach"),
    FlagSpec::switch("verbose"),
    FlagSpec::refused_value(
        "check-index",
        "the scale endpoint does not enforce a job modify index yet",
    ),
];

/// Runs `orch job scale`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (job, group, count) = match p.positional.as_slice() {
        [job, count] => (job, None, count),
        [job, group, count] => (job, Some(group.clone()), count),
        _ => {
            return Err(format!(
                "this command takes two or three arguments: <job> [<group>] <count>\n\n{USAGE}"
            ));
        }
    };
    let count: i64 = count
        .parse()
        .map_err(|_| format!("count {count:?} is not a whole number"))?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", job)?;
    let group = match group {
        Some(g) => g,
        None => only_group(&client, &id, count)?,
    };
    let reply = client.put(
        &format!("{}/scale", job_path(&id)),
        &json!({"Count": count, "Target": {"Job": id, "Group": group},
                "Message": "submitted using the orch CLI"}),
    )?;
    follow(&client, &reply, p.has("detach"))
}

/// The job's task group when it has exactly one; otherwise an error naming them.
fn only_group(client: &ApiClient, id: &str, count: i64) -> Result<String, String> {
    let spec = client.get(&job_path(id))?;
    let names: Vec<String> = spec["TaskGroups"]
        .as_array()
        .map(|a| a.iter().map(|g| text(&g["Name"])).collect())
        .unwrap_or_default();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "job {id:?} has {} task groups ({}); name the one to scale: orch job scale {id} <group> {count}",
            names.len(),
            names.join(", ")
        )),
    }
}
