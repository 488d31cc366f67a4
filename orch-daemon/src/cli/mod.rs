//! The `orch` command line, with Nomad's verbs.

pub mod flags;
mod job;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch <command> [args]

Commands:
    agent          Run a server (-dev for a single-node server on 127.0.0.1:4646)
    job validate   Check a jobspec (HCL or JSON) and report every problem
    job run        With -output: print the job as API JSON without submitting it
    version        Print the orch version";

/// Runs a command line (without the program name) and returns the exit code.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    match args.first().map(String::as_str) {
        Some("job") => job::run(&args[1..]),
        Some("version") | Some("-version") | Some("--version") => {
            println!("orch v{}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Some("agent") => crate::agent::run(&args[1..]),
        Some("-h") | Some("--help") | Some("help") | None => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    }
}
