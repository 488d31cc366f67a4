//! `orch release run <release.hcl>`: reads a release spec,
//!
//! ```hcl
//! release "shop" {
//!   jobs = ["db.nomad.hcl", "web.nomad.hcl"]
//! }
//! ```
//!
//! parses every jobspec it names (paths relative to the spec) as `job run` does, and
//! submits them as one release (`PUT /v1/releases`).

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, parse_verb};
use crate::cli::job::jobspec::submission_of;

const USAGE: &str = "Usage: orch release run [options] <release spec>

  Registers every job a release spec names as one release:

    release \"shop\" {
      jobs = [\"db.nomad.hcl\", \"web.nomad.hcl\"]
    }

  Jobspec paths are relative to the spec. When any job's rollout fails, every job
  of the release returns to its version of the last successful release of the
  name. Follow it with orch release status <id>.";

/// The most bytes of a release spec or one of its jobspecs read.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// `(name, jobspec paths)` of a release spec; every problem named.
fn parse_spec(path: &str, text: &str) -> Result<(String, Vec<String>), String> {
    let v: Value = hcl::from_str(text).map_err(|e| format!("{path}: {e}"))?;
    let obj = v.as_object().cloned().unwrap_or_default();
    if let Some(other) = obj.keys().find(|k| *k != "release") {
        return Err(format!(
            "{path}: unknown block {other:?}; a release spec holds one release \"name\" {{ jobs = [...] }} block"
        ));
    }
    let blocks = obj
        .get("release")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let blocks: Vec<(String, Value)> = blocks.into_iter().collect();
    let [(name, body)] = blocks.as_slice() else {
        return Err(format!(
            "{path}: expected exactly one release \"name\" {{ ... }} block"
        ));
    };
    let name = name.clone();
    let body = body.as_object().cloned().unwrap_or_default();
    if let Some(other) = body.keys().find(|k| *k != "jobs") {
        return Err(format!(
            "{path}: release {name:?}: unknown attribute {other:?} (only jobs)"
        ));
    }
    let jobs: Vec<String> = body
        .get("jobs")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|j| j.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let listed = body
        .get("jobs")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if jobs.is_empty() || jobs.len() != listed {
        return Err(format!(
            "{path}: release {name:?}: jobs must be a non-empty list of jobspec paths"
        ));
    }
    Ok((name, jobs))
}

fn read(path: &Path) -> Result<String, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} is larger than {MAX_FILE_BYTES} bytes",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Runs `orch release run`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let spec = p.one_arg("release spec", USAGE)?;
    let (name, paths) = parse_spec(spec, &read(Path::new(spec))?)?;
    let dir = Path::new(spec).parent().unwrap_or(Path::new("."));
    let mut jobs = Vec::new();
    let mut sources = Vec::new();
    for rel in &paths {
        let path = dir.join(rel);
        let shown = path.display().to_string();
        let text = read(&path)?;
        let job = orch_core::jobspec::parse_jobspec(&shown, &text, &Default::default())
            .map_err(|e| e.to_string())?;
        jobs.push(serde_json::to_value(&job).map_err(|e| format!("{shown}: {e}"))?);
        // Kept with each job's version, as `job run` keeps it (`job inspect -source`).
        let submission = submission_of(text, Default::default(), String::new());
        sources.push(serde_json::to_value(&submission).map_err(|e| format!("{shown}: {e}"))?);
    }
    let client = ApiClient::from_flags(&p)?;
    let out = client.put(
        "/v1/releases",
        &json!({"Release": {"Name": name, "Jobs": jobs, "Submissions": sources}}),
    )?;
    for w in out["Warnings"].as_array().into_iter().flatten() {
        println!("Warning: {}", w.as_str().unwrap_or_default());
    }
    println!(
        "Release {name:?} version {} submitted: ID {}\nFollow it with: orch release status {}",
        out["Version"],
        out["ID"].as_str().unwrap_or_default(),
        out["ID"].as_str().unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
