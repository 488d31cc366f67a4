//! `orch node pool info <pool>`: one pool's name, description, metadata and scheduler
//! configuration, in Nomad's layout.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};
use crate::cli::table::{kv, text};

const USAGE: &str = "Usage: orch node pool info [options] <node-pool>

  Info is used to fetch information about an existing node pool.

  If ACLs are enabled, this command requires a token with the 'read' capability
  in a 'node_pool' policy that matches the node pool being targeted.

Info Options:

  -json
    Output the node pool in its JSON format.

  -t
    Format and display node pool using a Go template.";

/// Runs `orch node pool info`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = p.one_arg("node-pool", USAGE)?;
    let pool = ApiClient::from_flags(&p)?
        .get(&super::pool_path(name))
        .map_err(|e| format!("Error retrieving node pool: {}", e.message))?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &pool);
    }
    println!("{}", describe(&pool));
    Ok(ExitCode::SUCCESS)
}

/// The `Key = Value` blocks of one pool.
fn describe(pool: &Value) -> String {
    let mut out = kv(&[
        ("Name", text(&pool["Name"])),
        ("Description", text(&pool["Description"])),
    ]);
    if let Some(meta) = pool["Meta"].as_object().filter(|m| !m.is_empty()) {
        let pairs: Vec<(&str, String)> = meta.iter().map(|(k, v)| (k.as_str(), text(v))).collect();
        out.push_str("\n\nMetadata\n");
        out.push_str(&kv(&pairs));
    }
    let sc = &pool["SchedulerConfiguration"];
    if sc.is_object() {
        let mut pairs = Vec::new();
        let algorithm = text(&sc["SchedulerAlgorithm"]);
        if !algorithm.is_empty() {
            pairs.push(("Scheduler Algorithm", algorithm));
        }
        if let Some(m) = sc["MemoryOversubscriptionEnabled"].as_bool() {
            pairs.push(("Memory Oversubscription Enabled", m.to_string()));
        }
        if !pairs.is_empty() {
            out.push_str("\n\nScheduler Configuration\n");
            out.push_str(&kv(&pairs));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn describes_a_pool_as_nomad_prints_it() {
        let pool = json!({
            "Name": "prod", "Description": "Node pool for production workloads.",
            "Meta": {"env": "production"},
            "SchedulerConfiguration": {"SchedulerAlgorithm": "spread"},
        });
        assert_eq!(
            super::describe(&pool),
            "Name        = prod\nDescription = Node pool for production workloads.\n\nMetadata\nenv = production\n\nScheduler Configuration\nScheduler Algorithm = spread"
        );
        let bare =
            json!({"Name": "all", "Description": "d", "Meta": {}, "SchedulerConfiguration": null});
        assert_eq!(super::describe(&bare), "Name        = all\nDescription = d");
    }
}
