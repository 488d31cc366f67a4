//! `orch node drain`: starts or stops draining a node, and follows the drain until it
//! is complete (or with `-monitor`, follows one already in progress).

use std::process::ExitCode;

use serde_json::{Value, json};

use super::drain_monitor::monitor_drain;
use super::{enable_disable, node_path, one_node};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};

const USAGE: &str = "Usage: orch node drain [options] <node>

  Starts (-enable) or stops (-disable) draining a node: it takes no new work and its
  allocations migrate elsewhere, each group at its migrate block's pace, until the
  deadline. Without -detach, follows the drain until it is complete.

Drain Options:

  -enable
    Start draining

  -disable
    Stop draining

  -monitor
    Follow a drain already in progress

  -deadline=<dur>
    Force-stop remaining allocations after this long (e.g. 1h, 30m; default 1h)

  -force
    Stop every allocation at once (deadline -1s)

  -no-deadline
    Never force-stop allocations

  -ignore-system
    Leave system jobs' allocations running

  -keep-ineligible
    With -disable: leave the node ineligible

  -detach
    Return once the drain is set instead of following it

  -self
    Drain the node of the agent the command talks to

  -m <message>
    A message stored with the drain (its metadata's \"message\")
  -meta <key>=<value> Metadata stored with the drain (repeatable)

  -yes
    Accepted for compatibility (orch does not prompt)";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("enable"),
    FlagSpec::switch("disable"),
    FlagSpec::value("deadline"),
    FlagSpec::switch("no-deadline"),
    FlagSpec::switch("ignore-system"),
    FlagSpec::switch("keep-ineligible"),
    FlagSpec::switch("force"),
    FlagSpec::switch("yes"),
    FlagSpec::switch("detach"),
    FlagSpec::switch("monitor"),
    FlagSpec::switch("self"),
    FlagSpec::value("m"),
    FlagSpec::value("meta"),
];

/// Runs `orch node drain`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if p.has("monitor") {
        return monitor_existing(&p);
    }
    let enable = enable_disable(&p, USAGE)?;
    let chosen = [p.has("force"), p.has("no-deadline"), p.has("deadline")];
    if chosen.iter().filter(|c| **c).count() > 1 {
        return Err(format!(
            "give at most one of -deadline, -force and -no-deadline\n\n{USAGE}"
        ));
    }
    let client = ApiClient::from_flags(&p)?;
    let id = one_node(&client, &p, USAGE)?;
    let ignore_system = p.has("ignore-system");
    let body = drain_body(&p, enable, ignore_system)?;
    client.put(&format!("{}/drain", node_path(&id)), &body)?;
    if !enable {
        println!("Node {id:?} drain strategy unset");
        return Ok(ExitCode::SUCCESS);
    }
    if p.has("detach") {
        println!("Node {id:?} drain strategy set");
        return Ok(ExitCode::SUCCESS);
    }
    monitor_drain(&client, &id, ignore_system, true)?;
    Ok(ExitCode::SUCCESS)
}

/// `-monitor`: follows the drain the node already has, if any.
fn monitor_existing(p: &Parsed) -> Result<ExitCode, String> {
    if p.has("enable") || p.has("disable") {
        return Err(format!(
            "-monitor follows a drain and cannot be combined with -enable or -disable\n\n{USAGE}"
        ));
    }
    let client = ApiClient::from_flags(p)?;
    let id = one_node(&client, p, USAGE)?;
    let node = client.get(&node_path(&id))?;
    if node["DrainStrategy"].is_null() {
        println!("No drain strategy set for node {id}");
        return Ok(ExitCode::SUCCESS);
    }
    let ignore = node["DrainStrategy"]["IgnoreSystemJobs"]
        .as_bool()
        .unwrap_or(false);
    monitor_drain(&client, &id, ignore, false)?;
    Ok(ExitCode::SUCCESS)
}

/// The body of `PUT /v1/node/:id/drain`: the drain spec with its deadline in
/// nanoseconds (-1 force, 0 none, default 1h), or no spec to stop draining.
fn drain_body(p: &Parsed, enable: bool, ignore_system: bool) -> Result<Value, String> {
    let mut meta = serde_json::Map::new();
    if let Some(m) = p.last("m") {
        // Nomad keeps the message of a drain and of its cancellation apart.
        let key = if enable { "message" } else { "cancel_message" };
        meta.insert(key.into(), m.into());
    }
    for pair in p.all("meta") {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("-meta {pair:?}: expected key=value"))?;
        meta.insert(k.into(), v.into());
    }
    if !enable {
        return Ok(
            json!({"DrainSpec": null, "MarkEligible": !p.has("keep-ineligible"),
                         "Meta": meta}),
        );
    }
    let deadline = if p.has("force") {
        -1
    } else if p.has("no-deadline") {
        0
    } else {
        match p.all("deadline").last() {
            Some(d) => duration_nanos(d)?,
            None => 3_600_000_000_000,
        }
    };
    Ok(
        json!({"DrainSpec": {"Deadline": deadline, "IgnoreSystemJobs": ignore_system},
               "MarkEligible": false, "Meta": meta}),
    )
}

/// Parses a Go duration (`1h30m`, `90s`) into nanoseconds.
fn duration_nanos(s: &str) -> Result<i64, String> {
    orch_core::duration::parse_go_duration(s)
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("-deadline {s:?}: expected a duration such as 1h, 30m or 90s"))
}
