//! orch's metric gates in the store (`core::workflow::gate`): each job version's gates
//! (`update { gate {...} }`, kept beside the version as job sources are, since the
//! stored job layout carries none) and what the leader recorded of each deployment's
//! gates. Table `update_gates`, snapshot section `update_gates`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::changes::{Changes, Outcome};
use super::{JobKey, JobRegister, JobRegisterSubmitted, Response, StateError, StateStore};
use crate::model::{Evaluation, Job, JobSubmission, UpdateGate, deployment_status};
use crate::workflow::gate::GateState;

/// Table name for [`StateStore::index`].
pub const UPDATE_GATES_TABLE: &str = "update_gates";

/// Gates by group name.
pub type GroupGates = BTreeMap<String, UpdateGate>;

/// A registration of a job whose groups have metric gates (or had them: an empty map
/// clears them): registered exactly as [`JobRegister`] (with its source when sent), and
/// the gates stored at the version the registration leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRegisterGated {
    /// The registration (its job's `Update.Gate`s are not read: postcard drops them).
    pub register: JobRegister,
    /// The source, as `JobRegisterSubmitted` stores it.
    pub submission: Option<JobSubmission>,
    /// Group name → its gate.
    pub gates: GroupGates,
}

/// The leader's reading of one deployment's gate: the new state (and its description
/// as the deployment's `StatusDescription`), with an evaluation when it opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentGateUpdate {
    /// The deployment (must be running).
    pub deployment_id: String,
    /// The gated group.
    pub group: String,
    /// What the gate is now.
    pub state: GateState,
    /// Evaluation for the next batch (when the gate opened).
    pub eval: Option<Evaluation>,
    /// When (Unix nanoseconds).
    pub now: i64,
}

/// The tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct GateTables {
    specs: BTreeMap<(String, String, u64), GroupGates>,
    states: BTreeMap<(String, String), GateState>,
}

/// The snapshot section: both tables in key order.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct GateSection {
    specs: Vec<((String, String, u64), GroupGates)>,
    states: Vec<((String, String), GateState)>,
}

impl GateTables {
    /// [`GateSection`] of the tables.
    pub(super) fn section(&self) -> GateSection {
        GateSection {
            specs: self.specs.clone().into_iter().collect(),
            states: self.states.clone().into_iter().collect(),
        }
    }

    /// Rebuilds the tables from [`Self::section`].
    pub(super) fn from_section(s: GateSection) -> Self {
        GateTables {
            specs: s.specs.into_iter().collect(),
            states: s.states.into_iter().collect(),
        }
    }
}

/// What one command changes in the gate tables.
#[derive(Debug, Clone, Default)]
pub(super) struct GateChanges {
    /// `(job, version, gates)`: gates to store (an empty map removes).
    pub specs: Vec<(JobKey, u64, GroupGates)>,
    /// `(deployment, group) → state`.
    pub states: BTreeMap<(String, String), GateState>,
}

impl StateStore {
    /// The gates of a job version, by group (`None` when it has none).
    pub fn update_gates(&self, namespace: &str, id: &str, version: u64) -> Option<&GroupGates> {
        self.gates
            .specs
            .get(&(namespace.to_string(), id.to_string(), version))
    }

    /// What the leader recorded of `group`'s gate in deployment `deployment_id`.
    pub fn deployment_gate(&self, deployment_id: &str, group: &str) -> Option<&GateState> {
        self.gates
            .states
            .get(&(deployment_id.to_string(), group.to_string()))
    }

    /// Registers as [`JobRegisterGated`] says. A change of the gates alone is a new
    /// version too (Nomad versions every `update` change): the servers then measure
    /// the new gates from that version's deployment on, and the old version keeps its
    /// own for a revert.
    pub(super) fn job_register_gated(&self, index: u64, c: JobRegisterGated) -> Outcome {
        let key = c.register.job.key();
        let gates_changed = self.jobs.get(&key).is_some_and(|old| {
            let current = self.update_gates(&key.0, &key.1, old.version);
            current.map_or(!c.gates.is_empty(), |g| *g != c.gates)
        });
        let (mut ch, response) = match c.submission {
            Some(submission) => self.job_register_submitted_versioned(
                index,
                JobRegisterSubmitted {
                    register: c.register,
                    submission,
                },
                gates_changed,
            )?,
            None => self.job_register_versioned(index, c.register, gates_changed)?,
        };
        ch.gates.specs.push((key, response.job_version, c.gates));
        Ok((ch, response))
    }

    pub(super) fn deployment_gate_update(&self, index: u64, c: DeploymentGateUpdate) -> Outcome {
        let d = self.active_deployment(&c.deployment_id, "record a gate of")?;
        if d.status != deployment_status::RUNNING {
            return Err(StateError::Conflict(format!(
                "deployment {:?} is {}; gates are read only while it runs",
                d.id, d.status
            )));
        }
        if !d.task_groups.contains_key(&c.group) {
            return Err(StateError::Invalid(format!(
                "deployment {:?} has no task group {:?}",
                d.id, c.group
            )));
        }
        let mut ch = Changes::default();
        let mut response = Response::default();
        if let Some(dm) = ch.deployment_mut(self, &c.deployment_id)
            && !c.state.description.is_empty()
        {
            dm.status_description.clone_from(&c.state.description);
            dm.modify_time = c.now;
        }
        ch.gates
            .states
            .insert((c.deployment_id.clone(), c.group.clone()), c.state);
        self.stage_deployment_eval(&mut ch, &mut response, index, c.eval)?;
        Ok((ch, response))
    }

    /// A revert registers an old version's spec again: its gates go with it.
    pub(super) fn revert_gates(&self, ch: &mut Changes, key: &JobKey, from: u64, to: u64) {
        let gates = self.update_gates(&key.0, &key.1, from).cloned();
        ch.gates
            .specs
            .push((key.clone(), to, gates.unwrap_or_default()));
    }

    /// A new version made without saying its gates (a scale, a stop) keeps the gates
    /// of the version before it. `versioned`: the jobs whose history changed.
    fn carry_gates(&mut self, versioned: &[JobKey], explicit: &BTreeSet<(JobKey, u64)>) -> bool {
        let mut dirty = false;
        for k in versioned {
            let Some(v) = self.jobs.get(k).map(|j| j.version) else {
                continue;
            };
            let spec_key = (k.0.clone(), k.1.clone(), v);
            if explicit.contains(&(k.clone(), v)) || self.gates.specs.contains_key(&spec_key) {
                continue;
            }
            let prev = self
                .job_versions
                .get(k)
                .and_then(|m| m.range(..v).next_back())
                .map(|(pv, _)| *pv);
            let carried = prev.and_then(|pv| {
                self.gates
                    .specs
                    .get(&(k.0.clone(), k.1.clone(), pv))
                    .cloned()
            });
            if let Some(g) = carried {
                self.gates.specs.insert(spec_key, g);
                dirty = true;
            }
        }
        dirty
    }

    /// Writes a commit's gate changes (after its versions were recorded): specs of
    /// versions the history holds (a new version without any keeps its predecessor's),
    /// states of deployments that still exist; drops specs of pruned versions and
    /// states of removed deployments. Returns whether the table
    /// changed.
    pub(super) fn commit_gates(&mut self, changes: GateChanges, pruned: &[JobKey]) -> bool {
        let mut dirty = false;
        for (ns, id) in pruned {
            let versions = self.job_versions.get(&(ns.clone(), id.clone()));
            let stale: Vec<_> = self
                .gates
                .specs
                .range((ns.clone(), id.clone(), 0)..=(ns.clone(), id.clone(), u64::MAX))
                .map(|(k, _)| k.clone())
                .filter(|(_, _, v)| !versions.is_some_and(|m| m.contains_key(v)))
                .collect();
            for k in stale {
                dirty |= self.gates.specs.remove(&k).is_some();
            }
        }
        let explicit: BTreeSet<(JobKey, u64)> = changes
            .specs
            .iter()
            .map(|(k, v, _)| (k.clone(), *v))
            .collect();
        for (key, version, gates) in changes.specs {
            let k = (key.0.clone(), key.1.clone(), version);
            let kept = self
                .job_versions
                .get(&key)
                .is_some_and(|m: &BTreeMap<u64, Arc<Job>>| m.contains_key(&version));
            if gates.is_empty() || !kept {
                dirty |= self.gates.specs.remove(&k).is_some();
            } else {
                dirty = true;
                self.gates.specs.insert(k, gates);
            }
        }
        dirty |= self.carry_gates(pruned, &explicit);
        for (k, st) in changes.states {
            if self.deployments.contains_key(&k.0) {
                dirty = true;
                self.gates.states.insert(k, st);
            }
        }
        let gone: Vec<_> = self
            .gates
            .states
            .keys()
            .filter(|(d, _)| !self.deployments.contains_key(d))
            .cloned()
            .collect();
        for k in gone {
            dirty |= self.gates.states.remove(&k).is_some();
        }
        dirty
    }
}

#[cfg(test)]
mod tests;
