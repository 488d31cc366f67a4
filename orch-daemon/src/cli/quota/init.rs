//! `orch quota init`: writes Nomad's example quota specification (`spec.hcl`, or
//! `spec.json` with `-json`), refusing to overwrite a file.

use std::process::ExitCode;

use crate::cli::flags::{FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch quota init [options] [file]

  Write an example quota specification to spec.hcl (or the given file).

Init Options:

  -json
    Write the JSON form (spec.json)";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("json")];

const EXAMPLE_HCL: &str = r#"name        = "default-quota"
description = "Limit the shared default namespace"

# Create a limit for the global region. Additional limits may
# be specified in-order to limit other regions.
limit {
  region = "global"
  region_limit {
    cpu        = 2500
    memory     = 1000
    memory_max = 1000
  }
}
"#;

const EXAMPLE_JSON: &str = r#"{
  "Name": "default-quota",
  "Description": "Limit the shared default namespace",
  "Limits": [
    {
      "Region": "global",
      "RegionLimit": {
        "CPU": 2500,
        "MemoryMB": 1000,
        "MemoryMaxMB": 1000
      }
    }
  ]
}
"#;

/// Runs `orch quota init`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let json = p.has("json");
    let default = if json { "spec.json" } else { "spec.hcl" };
    let file = p.positional.first().map_or(default, String::as_str);
    if std::path::Path::new(file).exists() {
        return Err(format!(
            "quota specification {file:?} already exists; remove it or name another file"
        ));
    }
    let text = if json { EXAMPLE_JSON } else { EXAMPLE_HCL };
    std::fs::write(file, text).map_err(|e| format!("cannot write {file}: {e}"))?;
    println!("Example quota specification written to {file}");
    Ok(ExitCode::SUCCESS)
}
