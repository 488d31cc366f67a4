//! orch's releases in the store (`model::release`): `ReleaseRun` registers every job of
//! a release in one change set (all or none) and records the release; the leader's
//! release watcher moves it to `successful` or `failed` (`ReleaseStatusUpdate`). Table
//! `releases`, snapshot section `releases`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::changes::{Changes, Outcome};
use super::{JobRegisterGated, Response, StateError, StateStore};
use crate::model::{Release, ReleaseJob, release_status};

/// Table name for [`StateStore::index`].
pub const RELEASES_TABLE: &str = "releases";

/// The most jobs one release may name.
pub const MAX_RELEASE_JOBS: usize = 32;

/// The longest release name.
pub const MAX_RELEASE_NAME: usize = 128;

/// The releases kept per name (older ones are dropped with the next release).
pub const MAX_RELEASES_PER_NAME: usize = 16;

/// `orch release run`: register every job (each as `JobRegisterGated` does) and record
/// the release. Refused as a whole when any registration is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseRun {
    /// The new release's ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// One registration per job.
    pub registers: Vec<JobRegisterGated>,
    /// When (Unix nanoseconds).
    pub now: i64,
}

/// The release watcher's verdict on a running release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseStatusUpdate {
    /// The release (must be running).
    pub id: String,
    /// `successful` or `failed`.
    pub status: String,
    /// Why.
    pub status_description: String,
    /// When (Unix nanoseconds).
    pub now: i64,
}

impl StateStore {
    /// A release by ID.
    pub fn release(&self, id: &str) -> Option<&Release> {
        self.releases.get(id)
    }

    /// Every release, by ID.
    pub fn releases(&self) -> impl Iterator<Item = &Release> {
        self.releases.values()
    }

    /// The release of `name` at `version`.
    pub fn release_version(&self, name: &str, version: u64) -> Option<&Release> {
        self.releases
            .values()
            .find(|r| r.name == name && r.version == version)
    }

    /// The snapshot section: every release in ID order.
    pub(super) fn release_section(&self) -> Vec<Release> {
        self.releases.values().cloned().collect()
    }

    /// Restores [`Self::release_section`].
    pub(super) fn restore_releases(&mut self, list: Vec<Release>) {
        self.releases = list.into_iter().map(|r| (r.id.clone(), r)).collect();
    }

    fn check_release_run(&self, c: &ReleaseRun) -> Result<(), StateError> {
        let bad = |m: String| Err(StateError::Invalid(m));
        if c.id.is_empty() || self.releases.contains_key(&c.id) {
            return bad(format!("release ID {:?} is empty or taken", c.id));
        }
        if c.name.trim().is_empty() || c.name.len() > MAX_RELEASE_NAME {
            return bad(format!(
                "release name must be 1 to {MAX_RELEASE_NAME} bytes"
            ));
        }
        if c.registers.is_empty() || c.registers.len() > MAX_RELEASE_JOBS {
            return bad(format!(
                "a release names 1 to {MAX_RELEASE_JOBS} jobs; this one names {}",
                c.registers.len()
            ));
        }
        let mut seen = BTreeSet::new();
        for r in &c.registers {
            if !seen.insert(r.register.job.key()) {
                return bad(format!(
                    "job {:?} is named twice in release {:?}",
                    r.register.job.id, c.name
                ));
            }
        }
        if let Some(r) = self
            .releases
            .values()
            .find(|r| r.name == c.name && r.running())
        {
            return Err(StateError::Conflict(format!(
                "release {:?} version {} is still rolling out; wait for it to finish",
                r.name, r.version
            )));
        }
        Ok(())
    }

    pub(super) fn release_run(&self, index: u64, c: ReleaseRun) -> Outcome {
        self.check_release_run(&c)?;
        let mut ch = Changes::default();
        let mut response = Response::default();
        let mut jobs = Vec::new();
        for reg in c.registers {
            let (namespace, job_id) = reg.register.job.key();
            let (part, r) = self.job_register_gated(index, reg)?;
            absorb(&mut ch, part);
            if response.eval_id.is_empty() {
                response = r.clone();
            }
            jobs.push(ReleaseJob {
                namespace,
                job_id,
                job_version: r.job_version,
            });
        }
        let history: Vec<&Release> = self
            .releases
            .values()
            .filter(|r| r.name == c.name)
            .collect();
        let version = history.iter().map(|r| r.version).max().unwrap_or(0) + 1;
        let rollback_to = history
            .iter()
            .filter(|r| r.status == release_status::SUCCESSFUL)
            .map(|r| r.version)
            .max()
            .unwrap_or(0);
        let mut old: Vec<&Release> = history;
        old.sort_by_key(|r| r.version);
        let drop = (old.len() + 1).saturating_sub(MAX_RELEASES_PER_NAME);
        for r in old.iter().take(drop).filter(|r| r.version != rollback_to) {
            ch.releases.insert(r.id.clone(), None);
        }
        let release = Release {
            id: c.id.clone(),
            name: c.name,
            version,
            jobs,
            status: release_status::RUNNING.into(),
            status_description: "Release is rolling out".into(),
            rollback_to,
            submit_time: c.now,
            ..Release::default()
        };
        ch.releases.insert(c.id, Some(release));
        Ok((ch, response))
    }

    pub(super) fn release_status_update(&self, c: ReleaseStatusUpdate) -> Outcome {
        let r = self
            .releases
            .get(&c.id)
            .ok_or_else(|| StateError::Invalid(format!("release {:?} not found", c.id)))?;
        if !r.running() {
            return Err(StateError::Conflict(format!(
                "release {:?} is already {}",
                c.id, r.status
            )));
        }
        if ![release_status::SUCCESSFUL, release_status::FAILED].contains(&c.status.as_str()) {
            return Err(StateError::Invalid(format!(
                "release status {:?}: expected successful or failed",
                c.status
            )));
        }
        let mut ch = Changes::default();
        let mut r = r.clone();
        r.status = c.status;
        r.status_description = c.status_description;
        ch.releases.insert(c.id, Some(r));
        Ok((ch, Response::default()))
    }

    /// Writes a commit's releases (stamping their indexes). Returns whether any changed.
    pub(super) fn commit_releases(
        &mut self,
        index: u64,
        releases: BTreeMap<String, Option<Release>>,
    ) -> bool {
        let dirty = !releases.is_empty();
        for (id, r) in releases {
            match r {
                None => {
                    self.releases.remove(&id);
                }
                Some(mut r) => {
                    r.create_index = self.releases.get(&id).map_or(index, |o| o.create_index);
                    r.modify_index = index;
                    self.releases.insert(id, r);
                }
            }
        }
        dirty
    }
}

/// Adds one job registration's change set to the release's: registrations write jobs,
/// their evaluations, periodic launch records, sources and gates only, each keyed by
/// its own job.
fn absorb(into: &mut Changes, from: Changes) {
    into.jobs.extend(from.jobs);
    into.evals.extend(from.evals);
    into.periodic_launches.extend(from.periodic_launches);
    into.submissions.extend(from.submissions);
    into.gates.specs.extend(from.gates.specs);
}

#[cfg(test)]
mod tests;
