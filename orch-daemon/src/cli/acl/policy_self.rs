//! `orch acl policy self`: the policies of the caller: those attached to the workload
//! whose identity is the token (`NOMAD_TOKEN` inside a task), or the token's own.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch acl policy self [options]

  Lists the ACL policies of the caller: for a workload identity (a task's
  NOMAD_TOKEN) the policies attached to its job, group or task; for an ACL token
  the policies it holds.

Self Options:

  -json
    Print the raw API JSON

  -t <template>
    Format the policies with a Go template";

/// Runs `orch acl policy self`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(policies) = super::common::fetch_list(args, USAGE, "/v1/acl/policy/self", "policies")?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut rows = vec![
        ["Name", "Job ID", "Group Name", "Task Name"]
            .map(String::from)
            .to_vec(),
    ];
    rows.extend(policies.iter().map(row));
    println!("{}", columns(&rows));
    Ok(ExitCode::SUCCESS)
}

/// One policy's row in Nomad's layout: its workload's job, group and task, each
/// `<not specified>` when empty, all `<unavailable>` for a policy on no workload.
fn row(p: &Value) -> Vec<String> {
    let job = &p["JobACL"];
    let field = |name: &str| {
        if !job.is_object() {
            return "<unavailable>".to_string();
        }
        match text(&job[name]) {
            t if t.is_empty() => "<not specified>".to_string(),
            t => t,
        }
    };
    vec![
        text(&p["Name"]),
        field("JobID"),
        field("Group"),
        field("Task"),
    ]
}
