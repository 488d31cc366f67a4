//! `orch job start`: starts a stopped job again, at its most recent version that was
//! not a stop.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::{follow, job_path};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch job start [options] <job>

  Start an existing stopped job. This command is used to start a previously
  stopped job's most recent running version up. Upon successful start, an
  interactive monitor session will start to display log lines as the job starts
  up its allocations based on its most recent running version. It is safe to
  exit the monitor early using ctrl+c.

Start Options:

  -detach
    Return immediately instead of entering monitor mode. After the job start
    command is submitted, a new evaluation ID is printed to the screen, which
    can be used to examine the evaluation using the eval-status command.

  -consul-token
    Accepted for compatibility; orch does not use Consul.

  -vault-token
    Accepted for compatibility; orch does not use Vault.

  -verbose
    Display full information.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("detach"),
    FlagSpec::switch("verbose"),
    FlagSpec::value("consul-token"),
    FlagSpec::value("vault-token"),
];

/// Runs `orch job start`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::from_flags(&p)?;
    let id = client.resolve("/v1/jobs", "job", p.one_arg("job", USAGE)?)?;
    let job = client.get(&job_path(&id))?;
    if job["Stop"].as_bool() != Some(true) {
        return Err(format!(
            "Job {id:?} has not been stopped and has the following status: {}",
            job["Status"]
        ));
    }
    let versions = client.get(&format!("{}/versions", job_path(&id)))?;
    let mut job = last_running_version(&versions)
        .ok_or_else(|| format!("Job {id:?} has no version that ran: nothing to start"))?;
    job["Stop"] = Value::Bool(false);
    let reply = client.put("/v1/jobs", &json!({"Job": job}))?;
    follow(&client, &reply, p.has("detach"))
}

/// The newest version of the job that was not a stop (`/v1/job/:id/versions` lists
/// them newest first, as `{"Versions": [...]}`).
fn last_running_version(versions: &Value) -> Option<Value> {
    versions["Versions"]
        .as_array()?
        .iter()
        .filter(|v| v["Stop"].as_bool() != Some(true))
        .max_by_key(|v| v["Version"].as_u64().unwrap_or(0))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_version_that_was_not_a_stop_is_started() {
        let versions = json!({"Versions": [
            {"Version": 2, "Stop": true},
            {"Version": 1, "Stop": false, "Meta": {"v": "1"}},
            {"Version": 0, "Stop": false},
        ]});
        assert_eq!(last_running_version(&versions).unwrap()["Version"], 1);
        assert!(
            last_running_version(&json!({"Versions": [{"Version": 0, "Stop": true}]})).is_none()
        );
    }
}
