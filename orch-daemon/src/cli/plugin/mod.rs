//! `orch plugin <verb>`: Nomad's plugin commands (CSI plugins).

pub(crate) mod status;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch plugin <subcommand> [options] [args]

Subcommands:
    status  Display CSI plugins, or one plugin";

/// Dispatches `orch plugin <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[("status", status::run)];
    super::dispatch("plugin", args, verbs, USAGE)
}
