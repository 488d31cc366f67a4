//! `orch node pool init [-out hcl|json] [-quiet] [file]`: writes an example node pool
//! specification to start from.

use std::process::ExitCode;

use crate::cli::flags::{FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch node pool init [options] [filename]

  Creates an example node pool specification file that can be used as a
  starting point to customize further. When no filename is supplied, a default
  filename of \"pool.nomad.hcl\" or \"pool.nomad.json\" will be used depending on
  the output format.

Init Options:

  -out (hcl | json)
    Format of generated node pool specification. Defaults to \"hcl\".

  -quiet
    Do not print success message.";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("out"), FlagSpec::switch("quiet")];

pub(super) const EXAMPLE_HCL: &str = r#"# This is an example node pool specification. Apply it with
# `orch node pool apply pool.nomad.hcl`.

node_pool "example" {

  # description is an optional description of the node pool.
  description = "Example node pool"

  # meta is optional free-form metadata for operators and tools; the scheduler
  # does not use it.
  meta {
    environment = "prod"
    owner       = "sre"
  }

  # scheduler_configuration overrides the cluster's scheduler settings for the
  # jobs placed in this pool (Nomad keeps it in its Enterprise tier).
  scheduler_configuration {

    # scheduler_algorithm is "binpack" or "spread".
    scheduler_algorithm = "spread"

    # memory_oversubscription_enabled lets tasks use memory_max.
    memory_oversubscription_enabled = true
  }
}
"#;

pub(super) const EXAMPLE_JSON: &str = r#"{
  "Name": "example",
  "Description": "Example node pool",
  "Meta": {
    "environment": "prod",
    "owner": "sre"
  },
  "SchedulerConfiguration": {
    "SchedulerAlgorithm": "spread",
    "MemoryOversubscriptionEnabled": true
  }
}
"#;

/// Runs `orch node pool init`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let out = p.all("out").last().map(String::as_str).unwrap_or("hcl");
    let (default_file, body) = match out {
        "hcl" => ("pool.nomad.hcl", EXAMPLE_HCL),
        "json" => ("pool.nomad.json", EXAMPLE_JSON),
        other => return Err(format!("-out {other:?}: expected hcl or json\n\n{USAGE}")),
    };
    let file = match p.positional.as_slice() {
        [] => default_file,
        [one] => one.as_str(),
        _ => {
            return Err(format!(
                "This command takes no arguments or one: <filename>\n\n{USAGE}"
            ));
        }
    };
    if std::path::Path::new(file).exists() {
        return Err(format!("Node pool specification {file:?} already exists"));
    }
    std::fs::write(file, body).map_err(|e| format!("Failed to write {file:?}: {e}"))?;
    if !p.has("quiet") {
        println!("Example node pool specification written to {file}");
    }
    Ok(ExitCode::SUCCESS)
}
