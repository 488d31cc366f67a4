//! `orch acl policy info`: one policy, its indexes and its rules.

use std::process::ExitCode;

use super::common::or_none;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{kv, text};

const USAGE: &str = "Usage: orch acl policy info [options] <name>

  Displays the policy <name> and its rules. Needs a management token or one that
  holds the policy.

Info Options:

  -json
    Print the raw API JSON";

/// Runs `orch acl policy info`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("name", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let v = client.get(&format!("/v1/acl/policy/{}", encode(name)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    let mut out = kv(&[
        ("Name", text(&v["Name"])),
        ("Description", or_none(&v["Description"])),
        ("CreateIndex", text(&v["CreateIndex"])),
        ("ModifyIndex", text(&v["ModifyIndex"])),
    ]);
    let job = &v["JobACL"];
    if job.is_object() {
        // Nomad's layout for a policy attached to a workload.
        out.push_str("\n\nAssociated Workload\n");
        out.push_str(&kv(&[
            ("Namespace", text(&job["Namespace"])),
            ("JobID", text(&job["JobID"])),
            ("Group", text(&job["Group"])),
            ("Task", text(&job["Task"])),
        ]));
    }
    println!("{out}\n\nRules\n\n{}", text(&v["Rules"]).trim_end());
    Ok(ExitCode::SUCCESS)
}
