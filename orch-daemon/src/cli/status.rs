//! `orch status [<prefix>]`: with no argument the jobs, with one the object whose ID
//! starts with it, whatever its kind (a job, allocation, node, evaluation or
//! deployment), shown by that kind's `status` verb.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::api::ApiClient;
use super::flags::{COMMON, FlagSpec, parse_verb};
use super::table::text;

const USAGE: &str = "Usage: orch status [options] <identifier>

  Display the status output for any Nomad resource matching the given
  identifier.

  If no identifier is given, the status of all jobs is shown.

Status Options:

  -verbose
    Display full information.

  -ui
    Open the object's page of the web UI (jobs, allocations, nodes and
    deployments; not evaluations).";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("verbose"), FlagSpec::switch("ui")];

/// Each search context and the `status` verb that shows its objects.
const KINDS: &[super::Verb] = &[
    ("jobs", super::job::status::run),
    ("allocs", super::alloc::status::run),
    ("nodes", super::node::status::run),
    ("evals", super::eval::status::run),
    ("deployment", super::deployment::status::run),
];

/// Runs `orch status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let prefix = match p.positional.as_slice() {
        [] => return super::job::status::run(args),
        [one] => one.clone(),
        _ => {
            return Err(format!(
                "This command takes at most one argument\n\n{USAGE}"
            ));
        }
    };
    let client = ApiClient::from_flags(&p)?;
    let reply = client.put("/v1/search", &json!({"Prefix": prefix, "Context": "all"}))?;
    let found: Vec<(super::Verb, String)> = KINDS
        .iter()
        .flat_map(|verb| {
            matches(&reply, verb.0)
                .into_iter()
                .map(move |id| (*verb, id))
        })
        .collect();
    match found.as_slice() {
        [] => Err(format!("No matches found for {prefix:?}")),
        [((_, run), id)] => {
            let forwarded: Vec<String> = args
                .iter()
                .map(|a| if *a == prefix { id.clone() } else { a.clone() })
                .collect();
            run(&forwarded)
        }
        many => {
            println!("Prefix matched multiple objects:");
            for ((kind, _), id) in many {
                println!("  {kind}: {id}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// The IDs one search context matched.
fn matches(reply: &Value, kind: &str) -> Vec<String> {
    reply["Matches"][kind]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect()
}
