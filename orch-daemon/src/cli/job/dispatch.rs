//! `orch job dispatch`: launches a child of a parameterized job, with an optional
//! payload and metadata, printed as Nomad prints it.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

use base64::Engine;
use serde_json::json;

use super::follow;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};
use crate::cli::table::{kv, short, text};

const USAGE: &str = "Usage: orch job dispatch [options] <parameterized job> [input source]

  Dispatches an instance of a parameterized job. The input source (a file, or - for
  standard input) becomes the payload, written to the file named by each task's
  dispatch_payload block. Then monitors the evaluation of the dispatched job.

Dispatch Options:

  -meta <key>=<value>
    Metadata for the dispatched job (repeatable)

  -idempotency-token <t>
    A second dispatch with the same token returns the first
    dispatched job while it is not dead

  -detach
    Return right after dispatching, printing the IDs

  -verbose
    Print full IDs

  -id-prefix-template <t>
    Prefix template for the dispatched job's ID

  -ui
    Open the dispatched job's page of the web UI

  -priority <p>
    Not supported by orch yet (the parent's priority)

  -wait
    Not supported by orch yet";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("meta"),
    FlagSpec::value("idempotency-token"),
    FlagSpec::switch("detach"),
    FlagSpec::switch("verbose"),
    FlagSpec::value("id-prefix-template"),
    FlagSpec::switch("ui"),
    FlagSpec::refused_value(
        "priority",
        "the dispatch endpoint takes no priority yet; the child has its parent's",
    ),
    FlagSpec::refused_switch(
        "wait",
        "waiting for the dispatched allocations to finish is not built yet; poll `orch job status <dispatched job>`",
    ),
];

/// Runs `orch job dispatch`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (job, input) = match p.positional.as_slice() {
        [job] => (job, None),
        [job, input] => (job, Some(input.as_str())),
        _ => {
            return Err(format!(
                "this command takes one or two arguments: <parameterized job> [input source]\n\n{USAGE}"
            ));
        }
    };
    let meta = meta(&p)?;
    let payload = payload(input)?;
    let token = p
        .all("idempotency-token")
        .last()
        .cloned()
        .unwrap_or_default();
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", job)?;
    let reply = client.put(
        &format!("/v1/job/{}/dispatch", encode(&id)),
        &json!({
            "JobID": id,
            "Payload": base64::engine::general_purpose::STANDARD.encode(&payload),
            "Meta": meta,
            "IdempotencyToken": token,
            "IdPrefixTemplate": p.last("id-prefix-template").unwrap_or_default(),
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
    if p.has("ui") {
        crate::cli::ui::open_for(&p, "jobs", &text(&reply["DispatchedJobID"]))?;
    }
    if eval_id.is_empty() || p.has("detach") {
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    // Nomad's dispatch exits 1 whenever the monitor does not end in 0.
    let code = follow(&client, &reply, false)?;
    Ok(if code == ExitCode::SUCCESS {
        code
    } else {
        ExitCode::from(1)
    })
}

/// The `-meta key=value` pairs.
fn meta(p: &Parsed) -> Result<BTreeMap<String, String>, String> {
    let mut meta = BTreeMap::new();
    for kv in p.all("meta") {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(format!(
                "-meta {kv:?} is not key=value; write -meta key=value"
            ));
        };
        meta.insert(k.to_string(), v.to_string());
    }
    Ok(meta)
}

/// The payload from the input source: none, standard input (`-`) or a file.
fn payload(input: Option<&str>) -> Result<Vec<u8>, String> {
    Ok(match input {
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
    })
}
