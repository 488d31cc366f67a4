//! `orch job scaling-events`: the scaling events of each task group of a job, over
//! `/v1/job/:id/scale`.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, OUTPUT, VERBOSE, parse_verb};
use crate::cli::table::{columns, short, text, time_of};

const USAGE: &str = "Usage: orch job scaling-events [options] <args>

  The scaling events of each task group of a job, newest first: manual `job scale`
  actions and the autoscaler's, with their messages and errors.

Scaling Events Options:

  -json
    Print the raw API JSON";

/// Runs `orch job scaling-events <job>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, VERBOSE], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let job = p.one_arg("job", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let v = client.get(&format!("/v1/job/{}/scale", encode(job)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &v);
    }
    let groups = v["TaskGroups"].as_object().cloned().unwrap_or_default();
    let mut rows = vec![
        [
            "Task Group",
            "Time",
            "Count",
            "PrevCount",
            "Error",
            "Message",
            "Eval ID",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (g, status) in &groups {
        for e in status["Events"].as_array().into_iter().flatten() {
            rows.push(vec![
                g.clone(),
                time_of(&e["Time"]),
                text(&e["Count"]),
                text(&e["PreviousCount"]),
                text(&e["Error"]),
                text(&e["Message"]),
                short(&text(&e["EvalID"])),
            ]);
        }
    }
    if rows.len() == 1 {
        println!("No scaling events found");
    } else {
        println!("{}", columns(&rows));
    }
    Ok(ExitCode::SUCCESS)
}
