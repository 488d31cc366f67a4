//! The `orch` command line, with Nomad's verbs.

mod client;
mod eval_cmds;
pub mod flags;
mod job;
mod job_cmds;
mod monitor;
mod node_cmds;
mod status_cmds;
mod table;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch <command> [args]

Commands:
    agent          Run a server (-dev for a single-node server on 127.0.0.1:4646)
    alloc status   Display an allocation's status
    eval           list, status: evaluations
    job            run, status, stop, plan, inspect, history, revert, scale, validate
    node           status, drain, eligibility
    operator       raft list-peers
    server         members
    version        Print the orch version

Server commands reach the agent at -address=<url>, else ORCH_ADDR, else NOMAD_ADDR, else
http://127.0.0.1:4646. Run `orch <command> -h` for a command's options.";

/// Runs a command line (without the program name) and returns the exit code.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("job") => job::run(rest),
        Some("node") => node_cmds::run(rest),
        Some("eval") => eval_cmds::run_eval(rest),
        Some("alloc") => eval_cmds::run_alloc(rest),
        Some("server") => status_cmds::run_server(rest),
        Some("operator") => status_cmds::run_operator(rest),
        Some("version") | Some("-version") | Some("--version") => {
            println!("orch v{}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Some("agent") => crate::agent::run(rest),
        Some("-h") | Some("--help") | Some("help") | None => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    }
}

/// Prints a JSON value, indented.
fn print_json(v: &serde_json::Value) -> Result<ExitCode, String> {
    use std::io::Write;
    let s = serde_json::to_string_pretty(v).map_err(|e| format!("cannot encode JSON: {e}"))?;
    match writeln!(std::io::stdout().lock(), "{s}") {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {e}"))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
