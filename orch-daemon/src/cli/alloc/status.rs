//! `orch alloc status`: an allocation's details and its tasks' recent events.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, kv, short, text, time_of};

const USAGE: &str = "Usage: orch alloc status [options] <allocation>

  Details of an allocation (ID or unique prefix).

Options:
  -json  Print the raw API JSON";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("verbose")];

/// Runs `orch alloc status`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let id = p.one_arg("alloc", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/allocations", "allocation", id)?;
    let a = client.get(&format!("/v1/allocation/{}", encode(&id)))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &a);
    }
    println!(
        "{}",
        kv(&[
            ("ID", text(&a["ID"])),
            ("Eval ID", short(&text(&a["EvalID"]))),
            ("Name", text(&a["Name"])),
            ("Node ID", short(&text(&a["NodeID"]))),
            ("Node Name", text(&a["NodeName"])),
            ("Job ID", text(&a["JobID"])),
            ("Job Version", text(&a["Job"]["Version"])),
            ("Client Status", text(&a["ClientStatus"])),
            ("Client Description", text(&a["ClientDescription"])),
            ("Desired Status", text(&a["DesiredStatus"])),
            ("Desired Description", text(&a["DesiredDescription"])),
            ("Created", time_of(&a["CreateTime"])),
            ("Modified", time_of(&a["ModifyTime"])),
        ])
    );
    print_task_events(&a);
    Ok(ExitCode::SUCCESS)
}

/// Each task's state and, when it has any, its `Recent Events` table.
fn print_task_events(a: &Value) {
    let Some(states) = a["TaskStates"].as_object() else {
        return;
    };
    for (task, st) in states {
        println!("\nTask {task:?} is {:?}", text(&st["State"]));
        let events = st["Events"].as_array().cloned().unwrap_or_default();
        if !events.is_empty() {
            let mut rows = vec![["Time", "Type", "Description"].map(String::from).to_vec()];
            for ev in &events {
                rows.push(vec![
                    time_of(&ev["Time"]),
                    text(&ev["Type"]),
                    text(&ev["DisplayMessage"]),
                ]);
            }
            println!("Recent Events:\n{}", columns(&rows));
        }
    }
}
