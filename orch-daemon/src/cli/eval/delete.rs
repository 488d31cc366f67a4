//! `orch eval delete`: removes evaluations (one by ID, or those a filter matches) while
//! the eval broker is paused, to clear a backlog.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch eval delete [options] <evaluation>

  Delete an evaluation by ID. If the evaluation ID is omitted, this command will
  use the filter flag to identify and delete a set of evaluations. If ACLs are
  enabled, this command requires a management ACL token.

  This command should be used in cases where Nomad leadership is unable to
  process evaluations, and the broker must first be paused using the operator
  scheduler set-config command.

Eval Delete Options:

  -filter
    Specifies an expression used to filter evaluations by for deletion. When
    using this flag, it is advisable to ensure the syntax is correct using the
    eval list command first.

  -yes
    Bypass the confirmation prompt if an evaluation ID was not provided.";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("filter"), FlagSpec::switch("yes")];

/// Runs `orch eval delete`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let filter = p.all("filter").last().cloned();
    let client = ApiClient::from_flags(&p)?;
    let body = match (p.positional.as_slice(), filter) {
        ([id], None) => {
            let id = client.resolve("/v1/evaluations", "evaluation", id)?;
            json!({"EvalIDs": [id]})
        }
        ([], Some(filter)) => {
            let question =
                format!("Are you sure you want to delete the evaluations matching {filter:?}?");
            if !p.has("yes") && !crate::cli::output::confirm(&question)? {
                println!("Cancelling eval deletion");
                return Ok(ExitCode::SUCCESS);
            }
            json!({"Filter": filter})
        }
        ([_], Some(_)) => return Err("Can not use both an evaluation ID and -filter".into()),
        _ => {
            return Err(format!("Evaluation ID or filter flag required\n\n{USAGE}"));
        }
    };
    let (reply, _) = client.call(reqwest::Method::DELETE, "/v1/evaluations", Some(&body))?;
    let count = reply["Count"].as_u64().unwrap_or(0);
    let noun = if count == 1 {
        "evaluation"
    } else {
        "evaluations"
    };
    println!("Successfully deleted {count} {noun}");
    Ok(ExitCode::SUCCESS)
}
