//! `orch alloc status`: an allocation's details and its tasks' recent events.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, OUTPUT, parse_verb};
use crate::cli::table::{columns, kv, short, text, time_of};

const USAGE: &str = "Usage: orch alloc status [options] <allocation>

  Display information about existing allocations and its tasks. This command can
  be used to inspect the current status of an allocation, including its running
  status, metadata, and verbose failure messages reported by internal
  subsystems.

Alloc Status Options:

  -short
    Display short output. Shows only the most recent task event.

  -stats
    Display detailed resource usage statistics (not supported by orch yet).

  -verbose
    Show full information.

  -json
    Output the allocation in its JSON format.

  -t
    Format and display allocation using a Go template.

  -ui
    Open the allocation status page in the browser.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("verbose"),
    FlagSpec::switch("short"),
    FlagSpec::switch("ui"),
    FlagSpec::refused_switch(
        "stats",
        "the detailed usage view is not built yet; read /v1/client/allocation/<id>/stats",
    ),
];

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
    if p.has("short") {
        print_short_tasks(&a);
    } else {
        print_task_events(&a);
    }
    if p.has("ui") {
        crate::cli::ui::open_for(&p, "allocs", &id)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `-short`: Nomad's `Tasks` table, one line per task with its last event.
fn print_short_tasks(a: &Value) {
    let group = text(&a["TaskGroup"]);
    let lifecycle = |task: &str| -> String {
        let tasks = a["Job"]["TaskGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["Name"] == group.as_str())
            .flat_map(|g| g["Tasks"].as_array().cloned().unwrap_or_default());
        let l = tasks
            .into_iter()
            .find(|t| t["Name"] == task)
            .map(|t| t["Lifecycle"].clone())
            .unwrap_or_default();
        match text(&l["Hook"]).as_str() {
            "" => "main".into(),
            hook if l["Sidecar"].as_bool().unwrap_or(false) => format!("{hook} sidecar"),
            hook => hook.to_string(),
        }
    };
    let mut rows = vec![
        ["Name", "State", "Last Event", "Time", "Lifecycle"]
            .map(String::from)
            .to_vec(),
    ];
    for (task, st) in a["TaskStates"].as_object().into_iter().flatten() {
        let last = st["Events"].as_array().and_then(|e| e.last());
        rows.push(vec![
            task.clone(),
            text(&st["State"]),
            last.map(|e| text(&e["Type"])).unwrap_or_default(),
            last.map(|e| time_of(&e["Time"])).unwrap_or_default(),
            lifecycle(task),
        ]);
    }
    println!("\nTasks\n{}", columns(&rows));
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
