//! `orch job dispatch` and `orch job periodic force`: launching children of parameterized
//! and periodic jobs, printed as Nomad prints them; and the `Next Periodic Launch` line of
//! `orch job status`.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

use base64::Engine;
use orch_core::duration::format_go_duration as go_duration;
use orch_core::model::PeriodicConfig;
use serde_json::{Value, json};

use super::client::{Client, encode, parse_args};
use super::job_cmds::follow;
use super::table::{kv, short, text};

const DISPATCH_HELP: &str = "Usage: orch job dispatch [options] <parameterized job> [input source]

  Dispatches an instance of a parameterized job. The input source (a file, or - for
  standard input) becomes the payload, written to the file named by each task's
  dispatch_payload block. Then monitors the evaluation of the dispatched job.

Options:
  -meta <key>=<value>        Metadata for the dispatched job (repeatable)
  -idempotency-token <t>     A second dispatch with the same token returns the first
                             dispatched job while it is not dead
  -detach                    Return right after dispatching, printing the IDs
  -verbose                   Print full IDs";

const PERIODIC_HELP: &str = "Usage: orch job periodic <subcommand> [options] <job>

  Subcommands:
    force   Launch a child of a periodic job now, ignoring its schedule and
            prohibit_overlap, then monitor its evaluation

Options of force:
  -detach   Return right after the launch, printing the evaluation ID
  -verbose  Print full IDs";

/// `orch job dispatch`.
pub fn dispatch(args: &[String]) -> Result<ExitCode, String> {
    let flags = [
        ("meta", true),
        ("idempotency-token", true),
        ("detach", false),
        ("verbose", false),
    ];
    let Some(p) = parse_args(args, &flags, DISPATCH_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (job, input) = match p.positional.as_slice() {
        [job] => (job, None),
        [job, input] => (job, Some(input.as_str())),
        _ => {
            return Err(format!(
                "this command takes one or two arguments: <parameterized job> [input source]\n\n{DISPATCH_HELP}"
            ));
        }
    };
    let mut meta = BTreeMap::new();
    for kv in p.all("meta") {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(format!(
                "-meta {kv:?} is not key=value; write -meta key=value"
            ));
        };
        meta.insert(k.to_string(), v.to_string());
    }
    let payload = match input {
        None => Vec::new(),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("Error reading input data from standard input: {e}"))?;
            buf
        }
        Some(path) => std::fs::read(path)
            .map_err(|e| format!("Error reading input data from {path:?}: {e}"))?,
    };
    let token = p
        .all("idempotency-token")
        .last()
        .cloned()
        .unwrap_or_default();
    let client = Client::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", job)?;
    let reply = client.put(
        &format!("/v1/job/{}/dispatch", encode(&id)),
        &json!({
            "JobID": id,
            "Payload": base64::engine::general_purpose::STANDARD.encode(&payload),
            "Meta": meta,
            "IdempotencyToken": token,
        }),
    )?;
    let eval_id = text(&reply["EvalID"]);
    let shown = if p.has("verbose") {
        eval_id.clone()
    } else {
        short(&eval_id)
    };
    let mut rows = vec![("Dispatched Job ID", text(&reply["DispatchedJobID"]))];
    if !eval_id.is_empty() {
        rows.push(("Evaluation ID", shown));
    }
    println!("{}", kv(&rows));
    if eval_id.is_empty() || p.has("detach") {
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    follow(&client, &reply, false)
}

/// `orch job periodic force`.
pub fn periodic(args: &[String]) -> Result<ExitCode, String> {
    match args.split_first() {
        Some((sub, rest)) if sub == "force" => force(rest),
        Some((sub, _)) if matches!(sub.as_str(), "-h" | "-help" | "--help") => {
            println!("{PERIODIC_HELP}");
            Ok(ExitCode::SUCCESS)
        }
        Some((sub, _)) => Err(format!(
            "unknown command `orch job periodic {sub}`\n\n{PERIODIC_HELP}"
        )),
        None => Err(format!("missing subcommand\n\n{PERIODIC_HELP}")),
    }
}

fn force(args: &[String]) -> Result<ExitCode, String> {
    let flags = [("detach", false), ("verbose", false)];
    let Some(p) = parse_args(args, &flags, PERIODIC_HELP)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [job] = p.positional.as_slice() else {
        return Err(format!(
            "this command takes one argument: <job>\n\n{PERIODIC_HELP}"
        ));
    };
    let client = Client::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", job)?;
    let reply = client.put(
        &format!("/v1/job/{}/periodic/force", encode(&id)),
        &json!({}),
    )?;
    if p.has("detach") {
        println!("Force periodic successful");
        println!("Evaluation ID: {}", text(&reply["EvalID"]));
        return Ok(ExitCode::SUCCESS);
    }
    follow(&client, &reply, false)
}

const NANOS: i64 = 1_000_000_000;

/// Nomad's `Next Periodic Launch` value, `<time> (<duration> from now)`: computed here
/// from the job's periodic block as Nomad's CLI does, in the job's time zone, with the
/// difference between whole seconds printed as a Go duration. `None` when the block is
/// disabled, unreadable or never fires again.
pub(super) fn next_periodic_launch(periodic: &Value, now: i64) -> Option<String> {
    let config: PeriodicConfig = serde_json::from_value(periodic.clone()).ok()?;
    let next = orch_core::periodic::next_launch(&config, now)?;
    let secs = next.at.div_euclid(NANOS) - now.div_euclid(NANOS);
    Some(format!(
        "{} ({} from now)",
        next.rfc3339(),
        go_duration(secs.saturating_mul(NANOS))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_periodic_launch_reads_as_nomads() {
        // 2024-03-09 00:00:00.5 UTC.
        let now = 1_709_942_400 * NANOS + NANOS / 2;
        let utc =
            json!({"Enabled": true, "Spec": "*/15 * * * *", "SpecType": "cron", "TimeZone": "UTC"});
        assert_eq!(
            next_periodic_launch(&utc, now).as_deref(),
            Some("2024-03-09T00:15:00Z (15m0s from now)")
        );
        let ny = json!({"Enabled": true, "Spec": "30 9 * * *", "TimeZone": "America/New_York"});
        assert_eq!(
            next_periodic_launch(&ny, now).as_deref(),
            Some("2024-03-09T09:30:00-05:00 (14h30m0s from now)")
        );
        let off = json!({"Enabled": false, "Spec": "* * * * *"});
        assert_eq!(next_periodic_launch(&off, now), None);
        assert_eq!(next_periodic_launch(&Value::Null, now), None);
    }
}
