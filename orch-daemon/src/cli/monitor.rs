//! Nomad's evaluation monitor: follows an evaluation with blocking queries and prints its
//! status changes, the allocations it creates and why placements failed.
//!
//! Exit codes as Nomad documents for `job run`: 0 when the evaluation completed and placed
//! everything, 2 when placements failed (the evaluation is blocked waiting for capacity),
//! 1 when the evaluation itself failed or was canceled. Deployments are not monitored.

use std::collections::BTreeSet;

use serde_json::Value;

use super::client::{Client, encode};
use super::table::{failed_groups, now, short, text};

const TERMINAL: &[&str] = &["complete", "failed", "canceled", "cancelled"];

/// Monitors evaluation `eval_id` until it finishes; returns the exit code.
pub fn monitor(client: &Client, eval_id: &str) -> Result<u8, String> {
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
            return Ok(finish(&eval, &eval_id, &status));
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "gave up monitoring evaluation {eval_id:?} after an hour; check it with `orch eval status {eval_id}`"
            ));
        }
    }
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
