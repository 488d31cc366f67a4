//! The named sections after format 9's layout: tables added since are written as
//! `(name, postcard bytes)` pairs, so adding one needs no new snapshot format and no
//! copy of the older layouts. A reader refuses a section it does not know (restoring
//! without it would silently lose that table) and leaves a missing one empty.

use super::{StateError, StateStore};

/// The job sources (`JobSubmission`s) of the tracked versions.
const JOB_SUBMISSIONS: &str = "job_submissions";

/// Nodes' `LastDrain` records.
const NODE_LAST_DRAINS: &str = "node_last_drains";

/// Variables (sealed) and the keyring's root key metadata.
const VARIABLES: &str = "variables";

/// The workloads ACL policies are attached to (`JobACL`).
const ACL_JOB_ACLS: &str = "acl_job_acls";

/// orch's releases (deployment groups).
const RELEASES: &str = "releases";

/// orch's metric gates (job versions' and deployments').
const UPDATE_GATES: &str = "update_gates";

/// Sections as they are encoded: name, then that table's postcard bytes.
pub(super) type Sections = Vec<(String, Vec<u8>)>;

fn encode<T: serde::Serialize>(name: &str, value: &T) -> Result<(String, Vec<u8>), StateError> {
    let bytes = postcard::to_allocvec(value).map_err(|e| {
        StateError::Snapshot(format!(
            "could not encode the {name} section ({e}); this is a bug in orch, please report it"
        ))
    })?;
    Ok((name.to_string(), bytes))
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StateError> {
    super::decode_all(bytes)
}

impl StateStore {
    /// Every section, in name order (deterministic bytes).
    pub(super) fn sections(&self) -> Result<Sections, StateError> {
        Ok(vec![
            encode(ACL_JOB_ACLS, &self.job_acl_section())?,
            encode(JOB_SUBMISSIONS, &self.submissions.section())?,
            encode(NODE_LAST_DRAINS, &self.last_drain_section())?,
            encode(RELEASES, &self.release_section())?,
            encode(UPDATE_GATES, &self.gates.section())?,
            encode(VARIABLES, &self.vars.section())?,
        ])
    }

    /// Fills the tables the sections hold. Each name may appear once.
    pub(super) fn restore_sections(&mut self, sections: Sections) -> Result<(), StateError> {
        let mut seen = std::collections::BTreeSet::new();
        for (name, bytes) in sections {
            if !seen.insert(name.clone()) {
                return Err(StateError::Snapshot(format!(
                    "snapshot section {name:?} appears twice; the snapshot is corrupt, restore from another server"
                )));
            }
            match name.as_str() {
                ACL_JOB_ACLS => self.restore_job_acls(decode(&bytes)?)?,
                JOB_SUBMISSIONS => {
                    self.submissions = super::super::job_submissions::SubmissionTable::from_section(
                        decode(&bytes)?,
                    );
                }
                NODE_LAST_DRAINS => self.restore_last_drains(decode(&bytes)?),
                RELEASES => self.restore_releases(decode(&bytes)?),
                UPDATE_GATES => {
                    self.gates = super::super::gates::GateTables::from_section(decode(&bytes)?);
                }
                VARIABLES => {
                    self.vars = super::super::variables::VarTables::from_section(decode(&bytes)?);
                }
                other => {
                    return Err(StateError::Snapshot(format!(
                        "snapshot section {other:?} is unknown to this orch: the snapshot was written by a newer orch; restore it with that version or newer"
                    )));
                }
            }
        }
        Ok(())
    }
}
