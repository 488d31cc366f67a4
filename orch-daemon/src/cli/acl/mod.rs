//! `orch acl <noun> <verb>`: Nomad's ACL commands (bootstrap, policies, tokens, roles),
//! one file per verb; [`common`] holds what they share (the token and role layouts,
//! reading a file or stdin, the flags that name roles).

mod bootstrap;
mod common;
mod policy_apply;
mod policy_delete;
mod policy_info;
mod policy_list;
mod policy_self;
mod role_create;
mod role_delete;
mod role_info;
mod role_list;
mod role_update;
mod token_create;
mod token_delete;
mod token_info;
mod token_list;
mod token_self;
mod token_update;

#[cfg(test)]
mod tests;

use std::process::ExitCode;

use super::flags::{is_help, print_usage};
use super::{Verb, dispatch};

const USAGE: &str = "Usage: orch acl <subcommand> [options] [args]

  Manages ACLs: the bootstrap token, policies, tokens and roles. Every write needs a
  management token (-token, ORCH_TOKEN or NOMAD_TOKEN).

Subcommands:
    bootstrap   Create the first management token
    policy      apply, list, info, delete, self: ACL policies
    token       create, list, info, self, update, delete: ACL tokens
    role        create, list, info, update, delete: ACL roles";

const POLICY_USAGE: &str = "Usage: orch acl policy <subcommand> [options] [args]

Subcommands:
    apply    Create or update a policy from a file of rules
    list     List policies
    info     Display a policy and its rules
    delete   Delete a policy
    self     List the policies of the caller (a workload identity's attached ones)";

const TOKEN_USAGE: &str = "Usage: orch acl token <subcommand> [options] [args]

Subcommands:
    create   Create a token
    list     List tokens (management only)
    info     Display a token by accessor ID
    self     Display the token in use
    update   Change a token's name, type, policies or roles
    delete   Delete a token";

const ROLE_USAGE: &str = "Usage: orch acl role <subcommand> [options] [args]

Subcommands:
    create   Create a role from policies
    list     List roles
    info     Display a role by ID (or -by-name)
    update   Change a role's name, description or policies
    delete   Delete a role";

const POLICY_VERBS: &[Verb] = &[
    ("apply", policy_apply::run),
    ("list", policy_list::run),
    ("info", policy_info::run),
    ("delete", policy_delete::run),
    ("self", policy_self::run),
];

const TOKEN_VERBS: &[Verb] = &[
    ("create", token_create::run),
    ("list", token_list::run),
    ("info", token_info::run),
    ("self", token_self::run),
    ("update", token_update::run),
    ("delete", token_delete::run),
];

const ROLE_VERBS: &[Verb] = &[
    ("create", role_create::run),
    ("list", role_list::run),
    ("info", role_info::run),
    ("update", role_update::run),
    ("delete", role_delete::run),
];

/// Dispatches `orch acl bootstrap` and `orch acl <policy|token|role> <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("bootstrap") => bootstrap::run(rest),
        Some("policy") => dispatch("acl policy", rest, POLICY_VERBS, POLICY_USAGE),
        Some("token") => dispatch("acl token", rest, TOKEN_VERBS, TOKEN_USAGE),
        Some("role") => dispatch("acl role", rest, ROLE_VERBS, ROLE_USAGE),
        None => super::flags::usage_exit(USAGE),
        Some(word) if is_help(word) || word == "help" => print_usage(USAGE),
        Some(word) => Err(format!("unknown command `orch acl {word}`\n\n{USAGE}")),
    }
}
