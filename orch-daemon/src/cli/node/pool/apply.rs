//! `orch node pool apply [-json] <file | ->`: creates or updates a node pool from an HCL
//! specification (`node_pool "name" { ... }`) or the API's JSON.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, JSON_INPUT, parse_verb};

const USAGE: &str = "Usage: orch node pool apply [options] <input>

  Apply is used to create or update a node pool. The specification file is read
  from stdin by specifying \"-\", otherwise a path to the file is expected.

  If ACLs are enabled, this command requires a token with the 'write' capability
  in a 'node_pool' policy that matches the node pool being targeted.

Apply Options:

  -json
    Parse the input as a JSON node pool specification.";

/// Largest specification read (they are a few lines).
const MAX_SPEC_BYTES: u64 = 64 * 1024;

/// Runs `orch node pool apply`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, JSON_INPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let input = p.one_arg("input", USAGE)?;
    let text = read_input(input)?;
    let body = if p.has("json") {
        serde_json::from_str(&text).map_err(|e| format!("Failed to parse JSON node pool: {e}"))?
    } else {
        parse_hcl(&text)?
    };
    let name = body["Name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err("the node pool specification has no name".into());
    }
    ApiClient::from_flags(&p)?
        .put(&super::pool_path(&name), &body)
        .map_err(|e| format!("Error applying node pool: {}", e.message))?;
    println!("Successfully applied node pool {name:?}!");
    Ok(ExitCode::SUCCESS)
}

/// The file, or standard input for `-`, bounded.
fn read_input(input: &str) -> Result<String, String> {
    let mut text = String::new();
    let read = if input == "-" {
        std::io::stdin()
            .take(MAX_SPEC_BYTES + 1)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(input)
            .and_then(|f| f.take(MAX_SPEC_BYTES + 1).read_to_string(&mut text))
    };
    read.map_err(|e| format!("Failed to read {input:?}: {e}"))?;
    if text.len() as u64 > MAX_SPEC_BYTES {
        return Err(format!(
            "{input:?} is more than the {MAX_SPEC_BYTES} bytes a specification may have"
        ));
    }
    Ok(text)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    node_pool: BTreeMap<String, PoolBlock>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolBlock {
    #[serde(default)]
    description: String,
    #[serde(default)]
    meta: BTreeMap<String, String>,
    #[serde(default)]
    scheduler_configuration: Option<SchedulerBlock>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchedulerBlock {
    #[serde(default)]
    scheduler_algorithm: String,
    #[serde(default)]
    memory_oversubscription_enabled: Option<bool>,
}

/// Nomad's HCL specification, one `node_pool "name" { ... }` block, as the API's JSON.
fn parse_hcl(text: &str) -> Result<Value, String> {
    let spec: SpecFile = hcl::from_str(text).map_err(|e| {
        format!(
            "Failed to parse node pool: {e}; a specification is one node_pool \"name\" {{ description, meta {{ }}, scheduler_configuration {{ scheduler_algorithm, memory_oversubscription_enabled }} }} block"
        )
    })?;
    let mut pools = spec.node_pool.into_iter();
    let (Some((name, block)), None) = (pools.next(), pools.next()) else {
        return Err("Failed to parse node pool: expected exactly one node_pool block".into());
    };
    let mut body = json!({
        "Name": name,
        "Description": block.description,
        "Meta": block.meta,
    });
    if let Some(sc) = block.scheduler_configuration {
        body["SchedulerConfiguration"] = json!({
            "SchedulerAlgorithm": sc.scheduler_algorithm,
            "MemoryOversubscriptionEnabled": sc.memory_oversubscription_enabled,
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn reads_nomads_hcl_specification() {
        let body = super::parse_hcl(
            r#"node_pool "prod" {
  description = "Node pool for production workloads."
  meta { env = "prod" }
  scheduler_configuration { scheduler_algorithm = "spread" }
}"#,
        )
        .unwrap();
        assert_eq!(
            body,
            json!({
                "Name": "prod", "Description": "Node pool for production workloads.",
                "Meta": {"env": "prod"},
                "SchedulerConfiguration": {"SchedulerAlgorithm": "spread", "MemoryOversubscriptionEnabled": null},
            })
        );
        let example = super::parse_hcl(super::super::init::EXAMPLE_HCL).unwrap();
        let from_json: serde_json::Value =
            serde_json::from_str(super::super::init::EXAMPLE_JSON).unwrap();
        assert_eq!(
            example, from_json,
            "the two examples describe the same pool"
        );
        let e = super::parse_hcl("node_pool \"a\" { colour = \"red\" }").unwrap_err();
        assert!(e.contains("colour"), "{e}");
        let e = super::parse_hcl("node_pool \"a\" {}\nnode_pool \"b\" {}").unwrap_err();
        assert!(e.contains("exactly one"), "{e}");
    }
}
