//! The source a job version was submitted as (Nomad's `JobSubmission`): kept beside the
//! version so `job inspect -hcl` and the web UI show what the operator wrote, with the
//! variables it was rendered with. Reference data only: the scheduler never reads it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Largest `Source` kept (Nomad's default `job_max_source_size`, 1 MB); a bigger one is
/// discarded at registration with a warning, as Nomad does.
pub const MAX_JOB_SOURCE_BYTES: usize = 1_000_000;

/// Largest `Variables` text and total size of `VariableFlags` kept with a submission.
pub const MAX_JOB_SOURCE_VARIABLES_BYTES: usize = 256 * 1024;

/// Most `VariableFlags` entries accepted.
pub const MAX_JOB_SOURCE_VARIABLE_FLAGS: usize = 1024;

/// The formats Nomad records for a submission.
pub const JOB_SOURCE_FORMATS: [&str; 3] = ["hcl2", "hcl1", "json"];

/// Job meta key that asks Nomad not to keep the submission (`nomad_discard_job_source`).
pub const DISCARD_JOB_SOURCE_META: &str = "nomad_discard_job_source";

/// One job version's original source. Postcard-safe: it travels in the Raft log
/// (`default` only fills fields a JSON client left out).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JobSubmission {
    /// The jobspec text as submitted.
    #[serde(rename = "Source")]
    pub source: String,
    /// `hcl2`, `hcl1` or `json`.
    #[serde(rename = "Format")]
    pub format: String,
    /// `-var key=value` flags the CLI rendered the source with.
    #[serde(rename = "VariableFlags")]
    pub variable_flags: BTreeMap<String, String>,
    /// The var-file text (the web UI's variables form).
    #[serde(rename = "Variables")]
    pub variables: String,
    /// Namespace of the job (set by the store).
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// Job ID (set by the store).
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job version this is the source of (set by the store).
    #[serde(rename = "Version")]
    pub version: u64,
    /// Raft index of the registration that stored it (set by the store).
    #[serde(rename = "JobIndex")]
    pub job_index: u64,
}

/// Why a submission is refused: the field and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Submission.{field}: {problem}")]
pub struct SubmissionError {
    /// The field of `Submission` at fault.
    pub field: &'static str,
    /// What is wrong and what to send instead.
    pub problem: String,
}

impl JobSubmission {
    /// Checks the fields a client sets. The source size is not an error (Nomad keeps the
    /// job and drops the source; see [`Self::source_too_large`]).
    pub fn validate(&self) -> Result<(), SubmissionError> {
        let format = self.format.as_str();
        if !JOB_SOURCE_FORMATS.contains(&format) {
            return Err(SubmissionError {
                field: "Format",
                problem: format!(
                    "unknown format {format:?}; use one of {}",
                    JOB_SOURCE_FORMATS.join(", ")
                ),
            });
        }
        if self.variable_flags.len() > MAX_JOB_SOURCE_VARIABLE_FLAGS {
            return Err(SubmissionError {
                field: "VariableFlags",
                problem: format!(
                    "{} entries; at most {MAX_JOB_SOURCE_VARIABLE_FLAGS} are accepted",
                    self.variable_flags.len()
                ),
            });
        }
        let flags: usize = self
            .variable_flags
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        if flags + self.variables.len() > MAX_JOB_SOURCE_VARIABLES_BYTES {
            return Err(SubmissionError {
                field: "Variables",
                problem: format!(
                    "variables of {} bytes; at most {MAX_JOB_SOURCE_VARIABLES_BYTES} are accepted",
                    flags + self.variables.len()
                ),
            });
        }
        Ok(())
    }

    /// Whether the source is over [`MAX_JOB_SOURCE_BYTES`], and so not kept.
    pub fn source_too_large(&self) -> bool {
        self.source.len() > MAX_JOB_SOURCE_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_limits_are_checked_by_field() {
        let ok = JobSubmission {
            source: "job \"x\" {}".into(),
            format: "hcl2".into(),
            ..JobSubmission::default()
        };
        assert!(ok.validate().is_ok());
        let bad = JobSubmission {
            format: "yaml".into(),
            ..ok.clone()
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.field, "Format");
        assert!(
            e.to_string()
                .starts_with("Submission.Format: unknown format")
        );
        let big = JobSubmission {
            variables: "x".repeat(MAX_JOB_SOURCE_VARIABLES_BYTES + 1),
            ..ok.clone()
        };
        assert_eq!(big.validate().unwrap_err().field, "Variables");
        let huge = JobSubmission {
            source: "x".repeat(MAX_JOB_SOURCE_BYTES + 1),
            ..ok
        };
        assert!(huge.validate().is_ok() && huge.source_too_large());
    }
}
