//! `orch job init`: writes an example jobspec, job "example", like `nomad job init`.
//! It uses `raw_exec` and Python's built-in HTTP server (Python 3 is on this machine),
//! so it runs here as it is once a client is available.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::flags::{is_help, print_usage};

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

const USAGE: &str = "Usage: orch job init [<path>]

  Writes an example jobspec (job \"example\") to <path>, example.nomad.hcl by default.
  Refuses to overwrite an existing file.";

/// Runs `orch job init`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    // `job init` takes no flags, and help anywhere on its line.
    if args.iter().any(|a| is_help(a)) {
        return print_usage(USAGE);
    }
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        return Err(format!(
            "unknown flag {flag} for `orch job init`\n\n{USAGE}"
        ));
    }
    let path = Path::new(args.first().map_or(DEFAULT_FILE, String::as_str));
    if path.exists() {
        return Err(format!(
            "{} already exists; remove it or name another file: orch job init <path>",
            path.display()
        ));
    }
    std::fs::write(path, EXAMPLE).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("Example job file written to {}", path.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
