//! `orch release <verb>`: orch's releases (deployment groups; README, "Beyond Nomad"),
//! one file per verb: `run` submits a release spec naming several jobspecs, `status`
//! shows one release, `list` the history.

mod list;
mod run;
mod status;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch release <subcommand> [options] [args]

  Releases roll several jobs out as one, and back as one: when any job's rollout
  fails, every job of the release returns to its version of the last successful
  release of the same name (an orch extension; Nomad has no releases).

Subcommands:
    run      Submit a release spec (release \"name\" { jobs = [\"a.nomad.hcl\", ...] })
    status   Display the status of a release
    list     List releases, newest first per name";

/// Dispatches `orch release <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("run", run::run),
        ("status", status::run),
        ("list", list::run),
    ];
    super::dispatch("release", args, verbs, USAGE)
}
