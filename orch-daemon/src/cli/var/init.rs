//! `orch var init [<filename>]`: writes Nomad's example variable specification
//! (`spec.nv.hcl`, or `spec.nv.json` with `-json`), refusing to overwrite a file.

use std::process::ExitCode;

use crate::cli::flags::{FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch var init [options] [<filename>]

  Create an example variable specification file (default spec.nv.hcl).

Init Options:

  -json
    Write the example in JSON (spec.nv.json).

  -quiet
    Do not print the success message.";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("json"), FlagSpec::switch("quiet")];

const HCL: &str = r#"# A variable path can be specified in the specification file
# and will be used when writing the variable without specifying a
# path in the command or when writing JSON directly to the `/var/`
# HTTP API endpoint
# path = "path/to/variable"

# The Namespace to write the variable can be included in the specification. This
# value can be overridden by specifying the "-namespace" flag on the "put"
# command.
namespace = "default"

# The items map is the only strictly required part of a variable
# specification, since path and namespace can be set via other means.
# It contains the sensitive material to encrypt and store as a Nomad
# variable. The entire items map is encrypted and decrypted as a
# single unit.
items {
  key1 = "value 1"
  key2 = "value 2"
}
"#;

const JSON: &str = r#"{
  "Namespace": "default",
  "Items": {
    "key1": "value 1",
    "key2": "value 2"
  }
}
"#;

/// Runs `orch var init`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let json = p.has("json");
    let default = if json { "spec.nv.json" } else { "spec.nv.hcl" };
    let file = match p.positional.as_slice() {
        [] => default,
        [f] => f.as_str(),
        _ => {
            return Err(format!(
                "This command takes no arguments or one: <filename>\n\n{USAGE}"
            ));
        }
    };
    if std::path::Path::new(file).exists() {
        return Err(format!("File {file:?} already exists"));
    }
    std::fs::write(file, if json { JSON } else { HCL })
        .map_err(|e| format!("Failed to write {file:?}: {e}"))?;
    if !p.has("quiet") {
        println!("Example variable specification written to {file}");
    }
    Ok(ExitCode::SUCCESS)
}
