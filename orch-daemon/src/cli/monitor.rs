//! Nomad's evaluation monitor: follows an evaluation with blocking queries and prints its
//! status changes, the allocations it creates and why placements failed.
//!
//! Exit codes as Nomad documents for `job run`: 0 when the evaluation completed and placed
//! everything, 2 when placements failed (the evaluation is blocked waiting for capacity),
//! 1 when the evaluation itself failed or was canceled, or when the deployment it started
//! failed. Like Nomad's monitor, once the evaluation completes it follows the deployment
//! the evaluation worked on until that deployment is terminal (and, when the deployment
//! failed and auto-reverted, the rollback's deployment too).

use std::collections::BTreeSet;

use std::process::ExitCode;

use serde_json::Value;

use super::api::{ApiClient, encode};
use super::deployment::format_deployment;
use super::table::{failed_groups, now, short, text};

const TERMINAL: &[&str] = &["complete", "failed", "canceled", "cancelled"];

/// Monitors evaluation `eval_id` until it finishes; returns the exit code.
pub fn monitor(client: &ApiClient, eval_id: &str) -> Result<u8, String> {
    println!("==> {}: Monitoring evaluation {:?}", now(), short(eval_id));
    let mut eval_id = eval_id.to_string();
    let mut index = 0u64;
    let mut last_status = String::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    loop {
        let (eval, idx) =
            client.get_blocking(&format!("/v1/evaluation/{}", encode(&eval_id)), index, "2s")?;
        index = idx.max(index);
        let status = text(&eval["Status"]);
        if last_status.is_empty() {
            let trigger = text(&eval["TriggeredBy"]);
            match trigger.as_str() {
                "node-update" | "node-drain" => println!(
                    "    {}: Evaluation triggered by node {:?}",
                    now(),
                    short(&text(&eval["NodeID"]))
                ),
                _ => println!(
                    "    {}: Evaluation triggered by job {:?}",
                    now(),
                    text(&eval["JobID"])
                ),
            }
        }
        let allocs = client.get(&format!("/v1/evaluation/{}/allocations", encode(&eval_id)))?;
        for a in allocs.as_array().into_iter().flatten() {
            let id = text(&a["ID"]);
            if seen.insert(id.clone()) {
                println!(
                    "    {}: Allocation {:?} created: node {:?}, group {:?}",
                    now(),
                    short(&id),
                    short(&text(&a["NodeID"])),
                    text(&a["TaskGroup"])
                );
            }
        }
        if !last_status.is_empty() && status != last_status {
            println!(
                "    {}: Evaluation status changed: {last_status:?} -> {status:?}",
                now()
            );
        }
        last_status = status.clone();
        if TERMINAL.contains(&status.as_str()) {
            let next = text(&eval["NextEval"]);
            if !next.is_empty() && status == "complete" {
                println!(
                    "==> {}: Monitoring next evaluation {:?}",
                    now(),
                    short(&next)
                );
                eval_id = next;
                index = 0;
                last_status.clear();
                continue;
            }
            let code = finish(&eval, &eval_id, &status);
            let deployment = text(&eval["DeploymentID"]);
            if code != 0 || deployment.is_empty() {
                return Ok(code);
            }
            return monitor_deployment(client, &deployment);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "gave up monitoring evaluation {eval_id:?} after an hour; check it with `orch eval status {eval_id}`"
            ));
        }
    }
}

const DEPLOYMENT_TERMINAL: &[&str] = &["successful", "failed", "cancelled"];

/// Follows deployment `id` with blocking queries, printing its table whenever it changes,
/// until it is terminal; returns 0 when it succeeded, 1 otherwise.
pub fn monitor_deployment(client: &ApiClient, id: &str) -> Result<u8, String> {
    println!("==> {}: Monitoring deployment {:?}", now(), short(id));
    let mut id = id.to_string();
    let mut index = 0u64;
    let mut last = String::new();
    let mut failed = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    loop {
        let (d, idx) =
            client.get_blocking(&format!("/v1/deployment/{}", encode(&id)), index, "5s")?;
        index = idx.max(index);
        let shown = format_deployment(&d, false);
        if shown != last {
            println!("\n    {}", now());
            for line in shown.lines() {
                println!("{}", format!("    {line}").trim_end());
            }
            last = shown;
        }
        let status = text(&d["Status"]);
        if DEPLOYMENT_TERMINAL.contains(&status.as_str()) {
            let mark = if status == "successful" { "✓" } else { "!" };
            println!("\n  {mark} Deployment {:?} {status}", short(&id));
            if status != "failed" {
                return Ok(u8::from(failed || status != "successful"));
            }
            failed = true;
            match rollback_deployment(client, &d)? {
                Some(next) => {
                    println!(
                        "==> {}: Monitoring rollback deployment {:?}",
                        now(),
                        short(&next)
                    );
                    id = next;
                    index = 0;
                    last.clear();
                }
                None => return Ok(1),
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "gave up monitoring deployment {id:?} after an hour; check it with `orch deployment status {id}`"
            ));
        }
    }
}

/// The deployment rolling back a failed one that auto-reverted: the job's newer latest
/// deployment, waited for briefly since the revert is scheduled after the failure.
fn rollback_deployment(client: &ApiClient, failed: &Value) -> Result<Option<String>, String> {
    let reverting = text(&failed["StatusDescription"]).contains("rolling back to job version");
    if !reverting {
        return Ok(None);
    }
    let job = text(&failed["JobID"]);
    let failed_id = text(&failed["ID"]);
    for _ in 0..50 {
        let latest = client.get(&format!("/v1/job/{}/deployment", encode(&job)))?;
        let id = text(&latest["ID"]);
        if !id.is_empty() && id != failed_id {
            return Ok(Some(id));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Ok(None)
}

fn finish(eval: &Value, eval_id: &str, status: &str) -> u8 {
    let failed = &eval["FailedTGAllocs"];
    let placement_failed = failed.as_object().is_some_and(|o| !o.is_empty());
    if placement_failed {
        println!(
            "==> {}: Evaluation {:?} finished with status {status:?} but failed to place all allocations:",
            now(),
            short(eval_id)
        );
        for line in failed_groups(failed, "    ") {
            println!("{line}");
        }
        let blocked = text(&eval["BlockedEval"]);
        if !blocked.is_empty() {
            println!(
                "    Evaluation {:?} waiting for additional capacity to place remainder",
                short(&blocked)
            );
        }
        return 2;
    }
    println!(
        "==> {}: Evaluation {:?} finished with status {status:?}",
        now(),
        short(eval_id)
    );
    let desc = text(&eval["StatusDescription"]);
    if status != "complete" {
        if !desc.is_empty() {
            println!("    {desc}");
        }
        return 1;
    }
    0
}

/// How a verb prints the evaluation it started under `-detach`, as Nomad's does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detached {
    /// The bare ID (`job stop`, `job revert`, `alloc stop`).
    BareId,
    /// `Evaluation ID: <id>` (the deployment verbs).
    Labelled,
}

/// Prints the evaluation ID of a write's reply (`-detach`) or monitors it; what every
/// verb that starts an evaluation does with the reply.
pub fn follow(
    client: &ApiClient,
    reply: &Value,
    detach: bool,
    shown: Detached,
) -> Result<ExitCode, String> {
    let eval_id = text(&reply["EvalID"]);
    if eval_id.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    match (detach, shown) {
        (true, Detached::BareId) => println!("{eval_id}"),
        (true, Detached::Labelled) => println!("Evaluation ID: {eval_id}"),
        (false, Detached::BareId) => {}
        (false, Detached::Labelled) => println!(),
    }
    if detach {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(monitor(client, &eval_id)?))
}
