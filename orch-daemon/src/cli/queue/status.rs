//! `orch queue status`: the waiting work (blocked evaluations) in the order it gets
//! capacity, over `/v1/queue`: position, job, namespace, priority, the namespace's
//! share and the reason each waits; then the namespaces' shares.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch queue status [options]

  Display the work waiting for capacity, in the order it will get it: job priority
  first, then the namespace's fair share (its dominant share of the cluster's CPU and
  memory divided by its weight, lower first), then age. Every namespace the token may
  read unless -namespace names one.

Status Options:

  -json
    Print the raw API JSON

  -t <template>
    Format the output with a Go template";

/// Runs `orch queue status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let path = if client.namespace().is_some() {
        "/v1/queue"
    } else {
        "/v1/queue?namespace=*"
    };
    let v = client.get(path)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    println!("{}", render(&v));
    Ok(ExitCode::SUCCESS)
}

/// Two decimals, as a share is shown.
fn share(v: &Value) -> String {
    format!("{:.3}", v.as_f64().unwrap_or(0.0))
}

/// The human layout: the queue table, then the namespaces.
fn render(v: &Value) -> String {
    let waiting = v["Waiting"].as_array().cloned().unwrap_or_default();
    if waiting.is_empty() {
        return "No work is waiting for capacity".into();
    }
    let mut rows = vec![
        [
            "Position",
            "Job ID",
            "Namespace",
            "Priority",
            "Share",
            "Unplaced",
            "Reason",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for w in &waiting {
        let unplaced: u64 = w["Unplaced"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0);
        rows.push(vec![
            text(&w["Position"]),
            text(&w["JobID"]),
            text(&w["Namespace"]),
            text(&w["Priority"]),
            share(&w["Share"]),
            unplaced.to_string(),
            text(&w["Reason"]),
        ]);
    }
    let mut ns_rows = vec![
        [
            "Namespace",
            "Weight",
            "CPU",
            "Memory MB",
            "Dominant Share",
            "Share",
            "Waiting",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for n in v["Namespaces"].as_array().into_iter().flatten() {
        ns_rows.push(vec![
            text(&n["Name"]),
            text(&n["Weight"]),
            text(&n["CPU"]),
            text(&n["MemoryMB"]),
            share(&n["DominantShare"]),
            share(&n["Share"]),
            text(&n["Waiting"]),
        ]);
    }
    format!(
        "Waiting\n{}\n\nNamespaces (cluster: {} MHz, {} MB)\n{}",
        columns(&rows),
        text(&v["CPU"]),
        text(&v["MemoryMB"]),
        columns(&ns_rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_positions_and_namespaces() {
        let v = serde_json::json!({
            "CPU": 1000, "MemoryMB": 2048,
            "Namespaces": [{"Name": "a", "Weight": 3, "CPU": 500, "MemoryMB": 100,
                            "DominantShare": 0.5, "Share": 0.1667, "Waiting": 1}],
            "Waiting": [{"Position": 1, "JobID": "j", "Namespace": "a", "Priority": 50,
                         "Share": 0.1667, "Unplaced": {"g": 2},
                         "Reason": "group \"g\": resources exhausted: cpu on 1 node"}]
        });
        let out = render(&v);
        assert!(out.contains("Position"), "{out}");
        assert!(
            out.lines()
                .any(|l| l.starts_with("1 ") && l.contains("0.167")),
            "{out}"
        );
        assert!(out.contains("cluster: 1000 MHz, 2048 MB"), "{out}");
        assert_eq!(
            render(&serde_json::json!({"Waiting": []})),
            "No work is waiting for capacity"
        );
    }
}
