//! `orch namespace apply`: create or update a namespace from flags
//! (`-description`, `-quota`; unset flags keep the namespace's current values) or from a
//! specification file (HCL as Nomad's `namespace apply <file>`, or the API's JSON).

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, JSON_INPUT, parse_verb};

const USAGE: &str = "Usage: orch namespace apply [options] <namespace | file>

  Create or update a namespace. With a file (HCL or JSON specification), every setting
  comes from it; with a name, the flags change only what they name.

Apply Options:

  -description <text>
    The namespace's description

  -quota <name>
    Attach a quota specification (\"\" detaches it)

  -weight <n>
    orch: the namespace's fair share of the cluster for queued work, 1 to 1000
    (default 1; a namespace with weight 3 gets three times the share of one with 1)

  -json
    Parse the input file as JSON (also a file ending in .json)";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("description"),
    FlagSpec::value("quota"),
    FlagSpec::value("weight"),
];

/// Largest specification file read (they are a few lines).
const MAX_SPEC_BYTES: u64 = 64 * 1024;

/// Runs `orch namespace apply`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, JSON_INPUT, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let arg = p.one_arg("namespace | file", USAGE)?;
    let client = ApiClient::from_flags(&p)?;
    let path = std::path::Path::new(arg);
    let body = if path.is_file() {
        spec_file(path, p.has("json"))?
    } else {
        let current = client
            .get(&format!("/v1/namespace/{}", encode(arg)))
            .ok()
            .unwrap_or_else(|| json!({ "Name": arg }));
        let mut body = current;
        if let Some(d) = p.all("description").last() {
            body["Description"] = json!(d);
        }
        if let Some(q) = p.all("quota").last() {
            body["Quota"] = json!(q);
        }
        if let Some(w) = p.all("weight").last() {
            let w: u32 = w
                .parse()
                .map_err(|_| format!("-weight: {w:?} is not a whole number from 1 to 1000"))?;
            body["Weight"] = json!(w);
        }
        body
    };
    let name = body["Name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(format!(
            "the namespace specification has no name; set `name = \"...\"`\n\n{USAGE}"
        ));
    }
    client.put(&format!("/v1/namespace/{}", encode(&name)), &body)?;
    println!("Successfully applied namespace {name:?}!");
    Ok(ExitCode::SUCCESS)
}

/// Nomad's namespace specification file, in HCL.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    quota: String,
    #[serde(default)]
    capabilities: Option<CapabilitiesBlock>,
    #[serde(default)]
    meta: BTreeMap<String, String>,
    /// orch: the namespace's weight in the queue's fair share.
    #[serde(default)]
    weight: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesBlock {
    #[serde(default)]
    enabled_task_drivers: Vec<String>,
    #[serde(default)]
    disabled_task_drivers: Vec<String>,
}

/// Reads a specification file into the API's `Namespace` JSON.
fn spec_file(path: &std::path::Path, json: bool) -> Result<Value, String> {
    let text = crate::cli::quota::read_spec(path, MAX_SPEC_BYTES)?;
    if json || path.extension().is_some_and(|e| e == "json") {
        return serde_json::from_str(&text)
            .map_err(|e| format!("{}: invalid JSON: {e}", path.display()));
    }
    let spec: SpecFile = hcl::from_str(&text).map_err(|e| {
        format!(
            "{}: {e}; a namespace specification has name, description, quota, capabilities {{ enabled_task_drivers, disabled_task_drivers }} meta {{ }} and orch's weight",
            path.display()
        )
    })?;
    let mut body = json!({
        "Name": spec.name,
        "Description": spec.description,
        "Quota": spec.quota,
        "Meta": spec.meta,
    });
    if let Some(w) = spec.weight {
        body["Weight"] = json!(w);
    }
    if let Some(c) = spec.capabilities {
        body["Capabilities"] = json!({
            "EnabledTaskDrivers": c.enabled_task_drivers,
            "DisabledTaskDrivers": c.disabled_task_drivers,
        });
    }
    Ok(body)
}
