//! `orch system <verb>`: cluster maintenance the servers do on request.

mod gc;
mod reconcile;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch system <subcommand> [options]

  This command groups subcommands for interacting with the system API. Users can
  perform system maintenance tasks such as trigger the garbage collector or
  perform job summary reconciliation.

Subcommands:
    gc         Run the system garbage collection process
    reconcile  Perform system reconciliation tasks";

/// Dispatches `orch system <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[("gc", gc::run), ("reconcile", reconcile::run)];
    super::dispatch("system", args, verbs, USAGE)
}
