//! `orch acl policy apply`: creates or replaces a policy from a file of rules.

use std::process::ExitCode;

use serde_json::json;

use super::common::read_source;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch acl policy apply [options] <name> <path>

  Creates the policy <name>, or replaces it, with the rules (HCL or JSON, Nomad's
  policy language) in the file at <path> (`-` reads stdin). Needs a management token.

Apply Options:

  -description <text>
    The policy's description

  -job <id>
    Attaches the policy to the job <id> of -namespace (default \"default\"): the
    workload identities of its tasks get these rules on top of their own.

  -group <name>
    Attaches the policy to one task group of -job only.

  -task <name>
    Attaches the policy to one task of -group only.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("description"),
    FlagSpec::value("job"),
    FlagSpec::value("group"),
    FlagSpec::value("task"),
];

/// The `JobACL` the flags name: `None` without `-job`; `-group` needs `-job` and
/// `-task` needs `-group`, as Nomad's CLI requires.
fn job_acl(
    p: &crate::cli::flags::Parsed,
    namespace: Option<&str>,
) -> Result<Option<serde_json::Value>, String> {
    let get = |n: &str| p.last(n).unwrap_or_default().to_string();
    let (job, group, task) = (get("job"), get("group"), get("task"));
    if !task.is_empty() && group.is_empty() {
        return Err("-task requires -group (and -job): name the task's group".into());
    }
    if !group.is_empty() && job.is_empty() {
        return Err("-group requires -job: name the group's job".into());
    }
    if job.is_empty() {
        return Ok(None);
    }
    let namespace = namespace.unwrap_or("default");
    Ok(Some(json!({
        "Namespace": namespace,
        "JobID": job,
        "Group": group,
        "Task": task,
    })))
}

/// Runs `orch acl policy apply`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [name, path] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes two arguments: <name> and <path> to the rules\n\n{USAGE}"
        ));
    };
    let rules = read_source(path, "policy rules")?;
    let description = p.all("description").last().cloned().unwrap_or_default();
    let client = ApiClient::from_flags(&p)?;
    let body = json!({
        "Name": name,
        "Description": description,
        "Rules": rules,
        "JobACL": job_acl(&p, client.namespace())?,
    });
    client.put(&format!("/v1/acl/policy/{}", encode(name)), &body)?;
    println!("Successfully wrote {name:?} ACL policy!");
    Ok(ExitCode::SUCCESS)
}
