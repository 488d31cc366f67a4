//! `orch job init`: writes an example jobspec, job "example", like `nomad job init`.
//! It uses `raw_exec` and Python's built-in HTTP server (Python 3 is on this machine),
//! so it runs here as it is once a client is available.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::flags::{FlagSpec, parse_verb};

/// The file Nomad's `job init` writes.
pub const DEFAULT_FILE: &str = "example.nomad.hcl";

const EXAMPLE: &str = r#"# An example job: Python's built-in HTTP server on a dynamic port.
# Run it with `orch job run example.nomad.hcl`, see it with `orch job status example`.
job "example" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = 1

    network {
      port "http" {}
    }

    restart {
      attempts = 2
      delay    = "15s"
    }

    task "server" {
      driver = "raw_exec"

      config {
        command = "python3"
        args    = ["-m", "http.server", "${NOMAD_PORT_http}", "--bind", "127.0.0.1"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"#;

const USAGE: &str = "Usage: orch job init <filename>

  Creates an example job file that can be used as a starting point to customize
  further. If no filename is given, the default of \"example.nomad.hcl\" will be
  used. Refuses to overwrite an existing file.

Init Options:

  -short
    If the short flag is set, a minimal jobspec without comments is emitted.

  -connect
    Not supported: orch has no Consul Connect.

  -template
    Not supported: orch has no job templates (Nomad keeps them in Variables).

  -list-templates
    Not supported: orch has no job templates.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("short"),
    FlagSpec::refused_switch("connect", "it has no Consul Connect"),
    FlagSpec::refused_value("template", "it has no job templates"),
    FlagSpec::refused_switch("list-templates", "it has no job templates"),
];

/// Runs `orch job init`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let path = match p.positional.as_slice() {
        [] => Path::new(DEFAULT_FILE),
        [one] => Path::new(one.as_str()),
        _ => {
            return Err(format!(
                "This command takes no arguments or one: <filename>\n\n{USAGE}"
            ));
        }
    };
    if path.exists() {
        return Err(format!(
            "{} already exists; remove it or name another file: orch job init <path>",
            path.display()
        ));
    }
    let text = if p.has("short") {
        short_example()
    } else {
        EXAMPLE.to_string()
    };
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("Example job file written to {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `-short`: the example without its comment lines.
fn short_example() -> String {
    EXAMPLE
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[cfg(test)]
mod tests;
