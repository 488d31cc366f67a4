//! `orch scaling policy <verb>`: dispatches the scaling policy verbs, one file each.

mod policy_info;
mod policy_list;

use std::process::ExitCode;

use super::flags::{is_help, print_usage};

const USAGE: &str = "Usage: orch scaling policy <subcommand> [options]

Subcommands:
    list   List scaling policies
    info   Display a scaling policy, with the autoscaler's status";

/// Dispatches `orch scaling policy <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let (first, second) = (
        args.first().map(String::as_str),
        args.get(1).map(String::as_str),
    );
    let rest = args.get(2..).unwrap_or_default();
    match (first, second) {
        (Some("policy"), Some("list")) => policy_list::run(rest),
        (Some("policy"), Some("info")) => policy_info::run(rest),
        (Some("policy") | None, None) => super::flags::usage_exit(USAGE),
        (Some("policy"), Some(word)) if is_help(word) || word == "help" => print_usage(USAGE),
        (Some(word), _) if is_help(word) || word == "help" => print_usage(USAGE),
        _ => Err(format!(
            "unknown command `orch scaling {}`\n\n{USAGE}",
            args.join(" ")
        )),
    }
}
