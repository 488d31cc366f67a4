//! `orch status [<prefix>]`: with no argument the jobs, with one the object whose ID
//! starts with it, whatever its kind (a job, allocation, node, evaluation, deployment,
//! node pool, CSI plugin or volume, namespace or quota), shown by that kind's `status`
//! (or `info`) verb, as Nomad routes it.

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

/// Each search context, the verb that shows its objects, and which of this verb's own
/// flags that verb takes too (the others are not passed on to it).
const KINDS: &[(super::Verb, &[&str])] = &[
    (("jobs", super::job::status::run), &["verbose", "ui"]),
    (("allocs", super::alloc::status::run), &["verbose", "ui"]),
    (("nodes", super::node::status::run), &["verbose", "ui"]),
    (("evals", super::eval::status::run), &["verbose"]),
    (
        ("deployment", super::deployment::status::run),
        &["verbose", "ui"],
    ),
    (("node_pools", super::node::pool::info::run), &[]),
    (("plugins", super::plugin::status::run), &[]),
    (("volumes", super::volume::status::run), &["verbose"]),
    (("namespaces", super::namespace::status::run), &[]),
    (("quotas", super::quota::status::run), &[]),
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
    let found: Vec<(super::Verb, &[&str], String)> = KINDS
        .iter()
        .flat_map(|(verb, keeps)| {
            matches(&reply, verb.0)
                .into_iter()
                .map(move |id| (*verb, *keeps, id))
        })
        .collect();
    // An ID given whole wins over the longer ones it is a prefix of (`web` beside
    // `web-2`), when it names one object.
    let exact: Vec<_> = found
        .iter()
        .filter(|(_, _, id)| *id == prefix)
        .cloned()
        .collect();
    let found = if exact.len() == 1 { exact } else { found };
    match found.as_slice() {
        [] => Err(format!("No matches found for {prefix:?}")),
        [((_, run), keeps, id)] => {
            let forwarded: Vec<String> = args
                .iter()
                .filter(|a| passed_on(a, keeps))
                .map(|a| if *a == prefix { id.clone() } else { a.clone() })
                .collect();
            run(&forwarded)
        }
        many => {
            println!("Prefix matched multiple objects:");
            for ((kind, _), _, id) in many {
                println!("  {kind}: {id}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// Whether `arg` goes on to the routed verb: anything but this verb's own flags that
/// the routed verb does not take (`keeps`).
fn passed_on(arg: &str, keeps: &[&str]) -> bool {
    let Some(flag) = arg.strip_prefix('-') else {
        return true;
    };
    let name = flag.trim_start_matches('-');
    let name = name.split_once('=').map_or(name, |(n, _)| n);
    let own = FLAGS.iter().any(|f| f.name == name);
    !own || keeps.contains(&name)
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
