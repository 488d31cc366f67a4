//! The leader's part of orch's job-level workflows, played by the simulated cluster:
//! releasing evaluations that waited for a job dependency, and evaluating a stopped
//! job again when an allocation of its ordered group ended (see [`crate::workflow`]).

use super::{Cluster, SimError};
use crate::model::{AllocDeploymentStatus, Timestamp, trigger};
use crate::state::{AllocClientState, AllocClientUpdate, Command};
use crate::workflow::{job_deps, ordered};

impl Cluster {
    /// Plays the clients: reports the allocations healthy (or not) in their deployment,
    /// then does what the leader does after a pass, and evaluates their jobs as the
    /// deployment watcher does when an allocation's health is decided.
    pub fn set_health(&mut self, alloc_ids: &[String], healthy: bool) -> Result<usize, SimError> {
        let jobs: std::collections::BTreeSet<(String, String, String)> = alloc_ids
            .iter()
            .filter_map(|id| self.state.alloc_stub(id))
            .filter_map(|a| self.state.job(&a.namespace, &a.job_id))
            .map(|j| (j.namespace.clone(), j.id.clone(), j.job_type.clone()))
            .collect();
        let allocs = alloc_ids
            .iter()
            .filter_map(|id| self.state.alloc_stub(id))
            .map(|a| AllocClientState {
                id: a.id.clone(),
                client_status: a.client_status.to_string(),
                deployment_status: Some(AllocDeploymentStatus {
                    healthy: Some(healthy),
                    timestamp: Timestamp(self.now),
                    ..AllocDeploymentStatus::default()
                }),
                ..AllocClientState::default()
            })
            .collect();
        self.apply(Command::AllocClientUpdate(AllocClientUpdate {
            allocs,
            evals: Vec::new(),
            now: self.now,
        }))?;
        self.workflows_after(alloc_ids)?;
        for (ns, id, jtype) in jobs {
            let eval = self.eval_for(&ns, &id, 50, &jtype, trigger::DEPLOYMENT_WATCHER);
            self.requeue(vec![eval])?;
        }
        Ok(alloc_ids.len())
    }

    /// What the leader's feeder does after each pass: releases the blocked evaluations
    /// a job dependency no longer holds, and evaluates stopped jobs whose ordered groups
    /// have their next stop to make now that `changed` allocations moved.
    pub(super) fn workflows_after(&mut self, changed: &[String]) -> Result<(), SimError> {
        let state = &self.state;
        let released = self.blocked.release_where(|e| job_deps::release(state, e));
        self.requeue(released)?;
        let ended = changed.iter().filter_map(|id| self.state.alloc_stub(id));
        let jobs = ordered::stops_pending(&self.state, ended);
        for (ns, job_id) in jobs {
            let jtype = self.state.job(&ns, &job_id).map(|j| j.job_type.clone());
            let jtype = jtype.unwrap_or_else(|| crate::model::job_type::SERVICE.into());
            let eval = self.eval_for(&ns, &job_id, 50, &jtype, trigger::JOB_DEREGISTER);
            self.requeue(vec![eval])?;
        }
        Ok(())
    }
}
