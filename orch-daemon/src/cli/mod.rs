//! The `orch` command line, with Nomad's verbs, laid out as Nomad's `command/`: a
//! folder per noun whose `mod.rs` dispatches its verbs (most through `dispatch`), one
//! file per verb.
//!
//! - `acl`, `alloc`, `deployment`, `eval`, `job`, `namespace`, `node`, `operator`,
//!   `quota`, `scaling`, `server`, `service`, `system`, `tls`: the nouns and their verbs
//!   (`orch agent` is `crate::agent`); `status` and `ui`, the verbs without a noun.
//! - `api`: `ApiClient`, the HTTP client of the verbs that talk to an agent.
//! - `flags`: Nomad-style flags, the one way verbs declare and parse them, and help.
//! - `monitor`: following an evaluation and the deployment it starts.
//! - `output` and `table`: `-json` output and Nomad's tables, `Key = Value` blocks,
//!   short IDs and times.

mod acl;
mod alloc;
mod api;
mod deployment;
mod eval;
pub mod flags;
mod job;
mod monitor;
mod monitor_logs;
mod namespace;
mod node;
mod operator;
mod output;
mod plugin;
mod queue;
mod quota;
mod release;
mod scaling;
mod server;
mod service;
mod status;
mod system;
pub(crate) mod table;
mod tls;
mod ui;
mod var;
mod volume;

use std::process::ExitCode;

const USAGE: &str = "Usage: orch <command> [args]

Commands:
    acl            bootstrap; policy, token, role: apply/create, list, info, update, delete
    agent          Run a server (-dev for a single-node server on 127.0.0.1:4646)
    alloc          status, logs, fs, checks, restart, signal, stop
    deployment     list, status, promote, fail, pause, resume, unblock
    eval           list, status, delete: evaluations
    job            run, status, stop, start, plan, inspect, history, revert, scale,
                   scaling-events, validate, allocs, deployments, eval, promote,
                   restart, dispatch, periodic
    monitor        Stream an agent's log lines (-log-level debug)
    namespace      apply, list, status, inspect, delete
    node           status, drain, eligibility, config, meta read, meta apply
    operator       raft list-peers, raft remove-peer, scheduler get-config|set-config,
                   snapshot save|restore|inspect
    plugin status  Display CSI plugins and their health
    queue          status: the work waiting for capacity, in the order it gets it (orch)
    quota          apply, list, status, inspect, delete, init
    release        run, status, list: orch's releases (several jobs, one rollout)
    scaling        policy list, policy info: scaling policies and autoscaler status
    server         members, force-leave
    var            put, get, list, purge, init: Nomad Variables
    service        list, info: orch's service catalog
    status         Display the status of any object by ID prefix (jobs without one)
    system         gc, reconcile summaries: cluster maintenance
    tls            ca create, cert create: a CA and agent certificates
    ui             Open (or -show-url print) the web UI, optionally at a job, alloc or node
    version        Print the orch version
    volume         register, create, status, deregister, delete, detach, snapshot: CSI

Server commands reach the agent at -address=<url>, else ORCH_ADDR, else NOMAD_ADDR, else
http://127.0.0.1:4646, with the ACL token of -token=<secret>, else ORCH_TOKEN, else
NOMAD_TOKEN; over https:// with -ca-cert, -client-cert, -client-key,
-tls-server-name, -tls-skip-verify (or NOMAD_CACERT, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY,
NOMAD_TLS_SERVER_NAME, NOMAD_SKIP_VERIFY). Run `orch <command> -h` for a command's options.";

/// A verb whose reader went away (`orch job status | head -1`) ends as a Go program
/// does, killed by SIGPIPE, instead of panicking in `println!`: Rust ignores SIGPIPE
/// for every program. Not for the agent and the task shim, which must survive a peer
/// or a log reader closing its end.
fn die_quietly_on_closed_stdout() {
    // SAFETY: restoring a signal's default disposition has no memory preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs a command line (without the program name) and returns the exit code.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let moved;
    let args = match hoist_global_flags(args) {
        Some(a) => {
            moved = a;
            moved.as_slice()
        }
        None => args,
    };
    let rest = args.get(1..).unwrap_or_default();
    if !matches!(
        args.first().map(String::as_str),
        Some("agent" | "task-shim")
    ) {
        die_quietly_on_closed_stdout();
    }
    match args.first().map(String::as_str) {
        Some("acl") => acl::run(rest),
        Some("job") => job::run(rest),
        Some("node") => node::run(rest),
        Some("eval") => eval::run(rest),
        Some("deployment") => deployment::run(rest),
        Some("alloc") => alloc::run(rest),
        Some("server") => server::run(rest),
        Some("scaling") => scaling::run(rest),
        Some("service") => service::run(rest),
        Some("namespace") => namespace::run(rest),
        Some("quota") => quota::run(rest),
        Some("queue") => queue::run(rest),
        Some("release") => release::run(rest),
        Some("var") => var::run(rest),
        Some("volume") => volume::run(rest),
        Some("plugin") => plugin::run(rest),
        Some("operator") => operator::run(rest),
        Some("tls") => tls::run(rest),
        Some("status") => status::run(rest),
        Some("monitor") => monitor_logs::run(rest),
        Some("system") => system::run(rest),
        Some("ui") => ui::run(rest),
        Some("version") if rest.first().is_some_and(|a| flags::is_help(a)) => {
            flags::print_usage("Usage: orch version\n\n  Prints the orch version")
        }
        Some("version") | Some("-version") | Some("--version") => {
            println!("orch v{}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Some("agent") => crate::agent::run(rest),
        // Hidden: the per-task supervisor the task drivers start (not for people).
        Some("task-shim") => Ok(crate::client::driver::shim::main(rest)),
        Some("-h" | "-help" | "--help" | "help") => flags::print_usage(USAGE),
        // Nomad's CLI answers no command, or an unknown one, with its help and 127.
        None => {
            eprintln!("{USAGE}");
            Ok(ExitCode::from(127))
        }
        Some(other) => {
            eprintln!("Error: unknown command {other:?}\n\n{USAGE}");
            Ok(ExitCode::from(127))
        }
    }
}

/// A verb of a noun: its name and what runs it, given the arguments after the name.
type Verb = (&'static str, fn(&[String]) -> Result<ExitCode, String>);

/// Runs `orch <noun> <verb> [args]`: the verb named first in `args`; `help` or a help
/// flag prints the noun's `usage` (exit 0); no verb prints it and exits 1 and any
/// other word is an error that shows it, as Nomad's `RunResultHelp`.
fn dispatch(noun: &str, args: &[String], verbs: &[Verb], usage: &str) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    let Some(word) = args.first().map(String::as_str) else {
        return flags::usage_exit(usage);
    };
    if let Some((_, run)) = verbs.iter().find(|(name, _)| *name == word) {
        return run(rest);
    }
    if flags::is_help(word) || word == "help" {
        return flags::print_usage(usage);
    }
    Err(format!("unknown command `orch {noun} {word}`\n\n{usage}"))
}

/// `orch -address=X job status` → `orch job status -address=X`: global flags given before
/// the command move after its words, where the command's flag parser sees them.
fn hoist_global_flags(args: &[String]) -> Option<Vec<String>> {
    let mut globals = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let name = a
            .trim_start_matches('-')
            .split('=')
            .next()
            .unwrap_or_default();
        let switch = matches!(
            name,
            "json" | "tls-skip-verify" | "insecure" | "no-color" | "force-color"
        );
        let value = matches!(
            name,
            "address"
                | "namespace"
                | "region"
                | "token"
                | "ca-cert"
                | "ca-path"
                | "client-cert"
                | "client-key"
                | "tls-server-name"
        );
        if !a.starts_with('-') || !(switch || value) {
            break;
        }
        globals.push(a.clone());
        if !switch && !a.contains('=') {
            if let Some(v) = args.get(i + 1) {
                globals.push(v.clone());
            }
            i += 1;
        }
        i += 1;
    }
    if globals.is_empty() {
        return None;
    }
    let rest = &args[i.min(args.len())..];
    let words = match rest.first().map(String::as_str) {
        // `acl bootstrap [path]` has two words; `acl policy list` and the others three.
        Some("acl") if rest.get(1).is_some_and(|w| w == "bootstrap") => 2,
        Some("acl" | "operator" | "scaling" | "tls") => 3,
        Some("node") if rest.get(1).is_some_and(|w| w == "meta") => 3,
        Some(
            "job" | "node" | "eval" | "alloc" | "server" | "deployment" | "service" | "namespace"
            | "quota" | "queue" | "volume" | "plugin" | "system" | "var" | "release",
        ) => 2,
        Some("status" | "monitor" | "ui") => 1,
        _ => 1,
    };
    let split = rest
        .iter()
        .take(words)
        .take_while(|w| !w.starts_with('-'))
        .count();
    let mut out: Vec<String> = rest[..split].to_vec();
    out.extend(globals);
    out.extend(rest[split..].iter().cloned());
    Some(out)
}

#[cfg(test)]
mod tests;
