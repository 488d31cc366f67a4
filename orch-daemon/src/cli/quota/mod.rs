//! `orch quota <verb>`: Nomad's quota specification commands, one file each; also the
//! limits table `namespace status` shares and the bounded spec-file reader.

mod apply;
mod delete;
mod init;
mod list;
pub(crate) mod status;

use std::process::ExitCode;

use serde_json::Value;

use super::table::{columns, text};

const USAGE: &str = "Usage: orch quota <subcommand> [options] [args]

Subcommands:
    apply    Create or update a quota specification from a file
    delete   Delete a quota specification
    init     Write an example quota specification
    list     List quota specifications
    status   Display a quota's limits and usage";

/// Dispatches `orch quota <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("apply", apply::run),
        ("delete", delete::run),
        ("init", init::run),
        ("list", list::run),
        ("status", status::run),
        ("inspect", status::inspect),
    ];
    super::dispatch("quota", args, verbs, USAGE)
}

/// Nomad's quota limits table: per region `used / limit` for each dimension, `inf` for
/// an unlimited (zero) limit.
pub(crate) fn limits_table(spec: &Value, usage: &Value) -> String {
    let mut rows = vec![
        [
            "Region",
            "CPU Usage",
            "Core Usage",
            "Memory Usage",
            "Memory Max Usage",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for l in spec["Limits"].as_array().into_iter().flatten() {
        let used = &usage["Used"][text(&l["Hash"])]["RegionLimit"];
        let cell = |k: &str| {
            let limit = l["RegionLimit"][k].as_u64().unwrap_or(0);
            let limit = if limit == 0 {
                "inf".to_string()
            } else {
                limit.to_string()
            };
            format!("{} / {limit}", used[k].as_u64().unwrap_or(0))
        };
        rows.push(vec![
            text(&l["Region"]),
            cell("CPU"),
            cell("Cores"),
            cell("MemoryMB"),
            cell("MemoryMaxMB"),
        ]);
    }
    columns(&rows)
}

/// Reads a specification file of at most `max` bytes (refused beyond, naming the file).
pub(crate) fn read_spec(path: &std::path::Path, max: u64) -> Result<String, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if len > max {
        return Err(format!(
            "{} is {len} bytes, more than the {max} a specification file may have",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
