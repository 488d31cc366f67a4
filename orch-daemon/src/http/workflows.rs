//! orch's workflow extensions at the HTTP door (README, "Beyond Nomad: workflows"):
//! metric gates taken out of a registered job (the stored job carries none), and the
//! job-dependency cycle check registration, `job plan` and releases share.

use orch_core::model::Job;
use serde_json::Value;

use super::{ApiError, ApiState, QueryOpts};

/// `jobs::body_job`, with the metric gates (`update { gate }`) taken out of the job's
/// groups: the registration stores them beside the version, since the stored job
/// layout carries none.
pub fn body_job_gated(
    body: &mut Value,
    q: &QueryOpts,
) -> Result<(Job, orch_core::state::GroupGates), ApiError> {
    let mut job = super::jobs::body_job_parsed(body, q)?;
    let gates = orch_core::workflow::gate::take_gates(&mut job);
    Ok((job, gates))
}

/// orch's job dependencies: a cycle between jobs (with the jobs already registered) is
/// refused with its field path, by registration and `job plan` alike.
pub fn check_job_cycles(api: &ApiState, job: &Job) -> Result<(), ApiError> {
    let cycle = orch_core::workflow::job_deps::check_cycles_in(&api.state.read(), job);
    cycle.map_err(|e| {
        ApiError::bad_request(format!(
            "Job validation failed: 1 error(s) in job:
  * {e}"
        ))
    })
}
