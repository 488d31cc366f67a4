//! `orch acl role info`: one role, by ID or (`-by-name`) by name.

use std::process::ExitCode;

use super::common::role_block;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch acl role info [options] <acl_role_id>

  Displays a role. Needs a management token or one that links to the role.

Info Options:

  -by-name
    The argument is the role's name, not its ID

  -json
    Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("by-name")];

/// Runs `orch acl role info`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let what = if p.has("by-name") {
        "role_name"
    } else {
        "role_id"
    };
    let arg = p.one_arg(what, USAGE)?;
    let path = if p.has("by-name") {
        format!("/v1/acl/role/name/{}", encode(arg))
    } else {
        format!("/v1/acl/role/{}", encode(arg))
    };
    let client = ApiClient::from_flags(&p)?;
    let role = client.get(&path)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &role);
    }
    println!("{}", role_block(&role));
    Ok(ExitCode::SUCCESS)
}
