//! `orch job ...`: jobspec commands that work without a server.

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::flags::{FlagSpec, parse};

const JOBSPEC_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "var",
        takes_value: true,
    },
    FlagSpec {
        name: "var-file",
        takes_value: true,
    },
    FlagSpec {
        name: "output",
        takes_value: false,
    },
];

/// Dispatches `orch job <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    match args.first().map(String::as_str) {
        Some("validate") => validate(&args[1..]),
        Some("run") => run_job(&args[1..]),
        Some(other) => Err(format!(
            "`orch job {other}` is not available yet: this build supports `job validate` and `job run -output`"
        )),
        None => Err("usage: orch job <validate|run> [flags] <jobspec>".into()),
    }
}

fn validate(args: &[String]) -> Result<ExitCode, String> {
    let job = load(args)?;
    println!(
        "Job validation successful ({} task group(s) in job {:?})",
        job.task_groups.len(),
        job.id
    );
    Ok(ExitCode::SUCCESS)
}

fn run_job(args: &[String]) -> Result<ExitCode, String> {
    let parsed = parse(args, JOBSPEC_FLAGS)?;
    if !parsed.has("output") {
        return Err("`orch job run` can only print the job (-output) in this build: there is no server to submit to yet".into());
    }
    let job = load(args)?;
    let body = serde_json::json!({ "Job": job });
    let text = serde_json::to_string_pretty(&body)
        .map_err(|e| format!("cannot encode job as JSON: {e}"))?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Reads, parses, canonicalizes and validates the jobspec named on the command line.
fn load(args: &[String]) -> Result<orch_core::model::Job, String> {
    let parsed = parse(args, JOBSPEC_FLAGS)?;
    let [path] = parsed.positional.as_slice() else {
        return Err("expected exactly one jobspec path (use - for standard input)".into());
    };
    let mut vars = BTreeMap::new();
    for file in parsed.all("var-file") {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read -var-file {file}: {e}"))?;
        for (k, v) in orch_core::jobspec::parse_var_file(file, &text).map_err(|e| e.to_string())? {
            vars.insert(k, v);
        }
    }
    for pair in parsed.all("var") {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("-var {pair:?}: expected name=value"))?;
        vars.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read standard input: {e}"))?
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read jobspec {path}: {e}"))?
    };
    orch_core::jobspec::parse_jobspec(path, &text, &vars).map_err(|e| e.to_string())
}
