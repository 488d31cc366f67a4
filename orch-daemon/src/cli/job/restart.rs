//! `orch job restart`: restarts (or with `-reschedule` replaces) a job's running
//! allocations in batches, as Nomad's, printing progress as it goes.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::job_path;
use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};
use crate::cli::table::{now, short, text};

const USAGE: &str = "Usage: orch job restart [options] <job>

  Restart or reschedule allocations for a particular job.

  Restarting the job calls the 'Restart Allocation' API endpoint to restart the
  tasks inside allocations, so the allocations themselves are not modified but
  rather restarted in-place.

  Rescheduling the job uses the 'Stop Allocation' API endpoint to stop the
  allocations and trigger the Nomad scheduler to compute new placements. This may
  cause the new allocations to be scheduled in different clients from the
  originals.

Restart Options:

  -all-tasks
    If set, all tasks in the allocations are restarted, even the ones that have
    already run, such as non-sidecar tasks. Tasks will restart following their
    lifecycle order. This option cannot be used with '-task'.

  -batch-size=<n|n%>
    Number of allocations to restart at once. It may be defined as a percentage
    value of the current number of running allocations. Defaults to 1.

  -batch-wait=<duration>
    Time to wait between restart batches. Defaults to 0s.

  -group=<group-name>
    Only restart allocations for the given group. Can be specified multiple
    times. If no group is set all allocations for the job are restarted.

  -no-shutdown-delay
    Ignore the group and task 'shutdown_delay' configuration so there is no
    delay between service deregistration and task shutdown or restart.

  -on-error=<ask|fail>
    Determines what action to take when an error happens during a restart
    batch. If 'ask' the command stops and waits for user confirmation on how to
    proceed. If 'fail' the command exits immediately. Defaults to 'ask'.

  -reschedule
    If set, allocations are stopped and rescheduled instead of restarted
    in-place. Since the group is not modified the restart does not create a new
    deployment, and so values defined in 'update' blocks, such as
    'max_parallel', are not taken into account. This option cannot be used with
    '-task'.

  -task=<task-name>
    Specify the task to restart. Can be specified multiple times. If groups are
    also specified the task must exist in at least one of them. If no task is
    set only tasks that are currently running are restarted.

  -yes
    Automatic yes to prompts.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("all-tasks"),
    FlagSpec::value("batch-size"),
    FlagSpec::value("batch-wait"),
    FlagSpec::value("group"),
    FlagSpec::switch("no-shutdown-delay"),
    FlagSpec::value("on-error"),
    FlagSpec::switch("reschedule"),
    FlagSpec::value("task"),
    FlagSpec::switch("yes"),
    FlagSpec::switch("verbose"),
];

/// How long a rescheduled allocation may take to be replaced by a running one.
const REPLACEMENT_WAIT: Duration = Duration::from_secs(300);

/// The restart asked for, from the flags.
struct Plan {
    tasks: Vec<String>,
    all_tasks: bool,
    reschedule: bool,
    batch_wait: Duration,
    fail_on_error: bool,
    yes: bool,
    no_shutdown_delay: bool,
}

/// Runs `orch job restart`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let plan = plan_of(&p)?;
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    let allocs = client.get(&format!("{}/allocations", job_path(&id)))?;
    let groups = p.all("group");
    let targets: Vec<Value> = allocs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["DesiredStatus"] == "run" && a["ClientStatus"] == "running")
        .filter(|a| groups.is_empty() || groups.iter().any(|g| a["TaskGroup"] == g.as_str()))
        .cloned()
        .collect();
    let size = batch_size(
        p.all("batch-size").last().map(String::as_str),
        targets.len(),
    )?;
    println!("==> {}: Restarting {} allocations", now(), targets.len());
    for (n, batch) in targets.chunks(size.max(1)).enumerate() {
        if n > 0 && !plan.batch_wait.is_zero() {
            println!(
                "==> {}: Waiting {:?} before restarting the next batch",
                now(),
                plan.batch_wait
            );
            std::thread::sleep(plan.batch_wait);
        }
        for alloc in batch {
            if let Err(e) = restart_one(&client, &plan, alloc) {
                println!("    {}: {e}", now());
                if !keep_going(&plan)? {
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    println!(
        "==> {}: Finished job restart\n\nAll allocations restarted successfully!",
        now()
    );
    Ok(ExitCode::SUCCESS)
}

/// The restart's settings, with the flag combinations Nomad refuses refused.
fn plan_of(p: &Parsed) -> Result<Plan, String> {
    let tasks = p.all("task").to_vec();
    let (all_tasks, reschedule) = (p.has("all-tasks"), p.has("reschedule"));
    if all_tasks && !tasks.is_empty() {
        return Err("The -all-tasks option cannot be used with -task".into());
    }
    if reschedule && (!tasks.is_empty() || all_tasks) {
        return Err("The -reschedule option cannot be used with -task or -all-tasks".into());
    }
    let batch_wait = match p.all("batch-wait").last().map(String::as_str) {
        None => Duration::ZERO,
        Some("ask") => {
            return Err(
                "-batch-wait=ask is not supported by orch yet: give a duration such as 10s".into(),
            );
        }
        Some(d) => orch_core::duration::parse_go_duration(d)
            .map(|n| Duration::from_nanos(n.max(0) as u64))
            .map_err(|e| format!("-batch-wait: expected a duration such as 10s: {e}"))?,
    };
    let fail_on_error = match p.all("on-error").last().map(String::as_str) {
        None | Some("ask") => false,
        Some("fail") => true,
        Some(other) => return Err(format!("-on-error: expected ask or fail, got {other:?}")),
    };
    Ok(Plan {
        tasks,
        all_tasks,
        reschedule,
        batch_wait,
        fail_on_error,
        yes: p.has("yes"),
        no_shutdown_delay: p.has("no-shutdown-delay"),
    })
}

/// `-batch-size` as a number of allocations: `n`, or `n%` of `total` (at least 1).
fn batch_size(flag: Option<&str>, total: usize) -> Result<usize, String> {
    let bad =
        |v: &str| format!("-batch-size: expected a number or a percentage such as 25%, got {v:?}");
    match flag {
        None => Ok(1),
        Some(v) => match v.strip_suffix('%') {
            Some(pct) => {
                let pct: usize = pct.parse().map_err(|_| bad(v))?;
                if pct == 0 || pct > 100 {
                    return Err(bad(v));
                }
                Ok((total * pct).div_ceil(100).max(1))
            }
            None => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(v)),
        },
    }
}

/// Restarts (or reschedules) one allocation, saying so.
fn restart_one(client: &ApiClient, plan: &Plan, alloc: &Value) -> Result<(), String> {
    let id = text(&alloc["ID"]);
    let group = text(&alloc["TaskGroup"]);
    if plan.reschedule {
        println!(
            "    {}: Rescheduling allocation {:?} for group {group:?}",
            now(),
            short(&id)
        );
        let mut path = format!("/v1/allocation/{}/stop", encode(&id));
        if plan.no_shutdown_delay {
            path.push_str("?no_shutdown_delay=true");
        }
        client.put(&path, &json!({}))?;
        return wait_replaced(client, &id);
    }
    let path = format!("/v1/client/allocation/{}/restart", encode(&id));
    if plan.tasks.is_empty() {
        let what = if plan.all_tasks {
            "all tasks"
        } else {
            "running tasks"
        };
        println!(
            "    {}: Restarting {what} in allocation {:?} for group {group:?}",
            now(),
            short(&id)
        );
        client.put(&path, &json!({"AllTasks": plan.all_tasks}))?;
        return Ok(());
    }
    for task in &plan.tasks {
        println!(
            "    {}: Restarting task {task:?} in allocation {:?} for group {group:?}",
            now(),
            short(&id)
        );
        client.put(&path, &json!({"TaskName": task}))?;
    }
    Ok(())
}

/// Waits until the stopped allocation `id` has a running replacement.
fn wait_replaced(client: &ApiClient, id: &str) -> Result<(), String> {
    let deadline = Instant::now() + REPLACEMENT_WAIT;
    while Instant::now() < deadline {
        let old = client.get(&format!("/v1/allocation/{}", encode(id)))?;
        let next = text(&old["NextAllocation"]);
        if !next.is_empty() {
            let new = client.get(&format!("/v1/allocation/{}", encode(&next)))?;
            if new["ClientStatus"] == "running" {
                println!(
                    "    {}: Allocation {:?} replaced by {:?}",
                    now(),
                    short(id),
                    short(&next)
                );
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(format!(
        "allocation {:?} was not replaced by a running allocation within {REPLACEMENT_WAIT:?}",
        short(id)
    ))
}

/// After a failed restart: `-on-error=fail` stops, `-yes` goes on, otherwise ask.
fn keep_going(plan: &Plan) -> Result<bool, String> {
    if plan.fail_on_error {
        return Ok(false);
    }
    if plan.yes {
        return Ok(true);
    }
    crate::cli::output::confirm(&format!(
        "==> {}: Are you sure you want to continue restarting?",
        now()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_as_numbers_and_percentages() {
        assert_eq!(batch_size(None, 10), Ok(1));
        assert_eq!(batch_size(Some("3"), 10), Ok(3));
        assert_eq!(batch_size(Some("25%"), 10), Ok(3));
        assert_eq!(batch_size(Some("100%"), 0), Ok(1));
        assert!(batch_size(Some("0"), 10).is_err());
        assert!(batch_size(Some("150%"), 10).is_err());
        assert!(
            batch_size(Some("x"), 10)
                .unwrap_err()
                .contains("-batch-size")
        );
    }
}
