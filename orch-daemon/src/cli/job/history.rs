//! `orch job history`: the tracked versions of a job, newest first, with `-p` their
//! differences and with `-full` each whole job.

use std::process::ExitCode;

use super::{diff_fmt, job_path};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{kv, text, time_of};

const USAGE: &str = "Usage: orch job history [options] <job>

  Lists the tracked versions of a job, newest first.

History Options:

  -p
    Show each version's differences from its predecessor

  -full
    Print each version's full job (JSON)

  -version=<n>
    Only this version

  -verbose
    With -p, also list unchanged job, group and task fields

  -json
    Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("p"),
    FlagSpec::switch("full"),
    FlagSpec::value("version"),
    FlagSpec::switch("verbose"),
    FlagSpec::refused_value(
        "diff-version",
        "the versions endpoint diffs each version against the previous one only",
    ),
    FlagSpec::refused_value("diff-tag", "orch has no job version tags yet"),
];

/// Runs `orch job history`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    let diffs = if p.has("p") { "?diffs=true" } else { "" };
    let versions = client.get(&format!("{}/versions{diffs}", job_path(&id)))?;
    let only: Option<u64> = match p.all("version").last() {
        Some(v) => Some(v.parse().map_err(|_| {
            format!("-version={v:?} is not a version number; see `orch job history {id}`")
        })?),
        None => None,
    };
    let list = versions["Versions"].as_array().cloned().unwrap_or_default();
    if crate::cli::output::asked(&p) {
        // Nomad prints the list of versions, or with -version the one job.
        return match only {
            None => crate::cli::output::print(&p, &versions["Versions"]),
            Some(v) => match list.iter().find(|j| j["Version"].as_u64() == Some(v)) {
                Some(j) => crate::cli::output::print(&p, j),
                None => Err(format!("job {id:?} has no version {v}")),
            },
        };
    }
    let diffs = versions["Diffs"].as_array().cloned().unwrap_or_default();
    let mut blocks: Vec<String> = Vec::new();
    for (i, j) in list.iter().enumerate() {
        if only.is_some_and(|v| j["Version"].as_u64() != Some(v)) {
            continue;
        }
        let mut block = kv(&[
            ("Version", text(&j["Version"])),
            ("Stable", j["Stable"].as_bool().unwrap_or(false).to_string()),
            ("Submit Date", time_of(&j["SubmitTime"])),
        ]);
        if let Some(d) = diffs.get(i).filter(|_| p.has("p")) {
            block.push_str("\nDiff =\n");
            block.push_str(&diff_fmt::format_job_diff(d, p.has("verbose")));
        }
        if p.has("full") {
            let full = serde_json::to_string_pretty(j)
                .map_err(|e| format!("cannot encode the job as JSON: {e}"))?;
            block.push_str("\nFull =\n");
            block.push_str(&full);
        }
        blocks.push(block);
    }
    if let (Some(v), true) = (only, blocks.is_empty()) {
        return Err(format!(
            "job {id:?} has no version {v}; run `orch job history {id}` to list them"
        ));
    }
    println!("{}", blocks.join("\n\n"));
    Ok(ExitCode::SUCCESS)
}
