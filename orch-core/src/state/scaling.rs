//! Scaling events in the store: recorded by `JobScale`, read by `/v1/job/:id/scale` and
//! by the autoscaler (its cooldown survives leader changes because it lives here).

use std::collections::BTreeMap;

use super::{JobKey, StateStore, key};
use crate::model::{ScalingEvent, TRACKED_SCALING_EVENTS};

/// Fills what Nomad's servers assign to each group's `Scaling` on registration: the
/// stable policy ID, `Namespace` and `Target` (`Namespace`, `Job`, `Group`). Derived from
/// the job alone, so re-registering the same spec changes nothing.
pub(super) fn fill_policy_targets(job: &mut crate::model::Job) {
    for g in &mut job.task_groups {
        if let Some(sc) = g.scaling.as_mut() {
            sc.id = crate::autoscale::policy_id(&job.namespace, &job.id, &g.name);
            sc.namespace.clone_from(&job.namespace);
            sc.target = BTreeMap::from([
                ("Namespace".to_string(), job.namespace.clone()),
                ("Job".to_string(), job.id.clone()),
                ("Group".to_string(), g.name.clone()),
            ]);
        }
    }
}

impl StateStore {
    /// The job's scaling events per group, newest first.
    pub fn scaling_events(
        &self,
        namespace: &str,
        job_id: &str,
    ) -> Option<&BTreeMap<String, Vec<ScalingEvent>>> {
        self.scaling_events.get(&key(namespace, job_id))
    }

    /// Time of the group's latest count change (not error events), for cooldowns.
    pub fn last_scaling_action(&self, namespace: &str, job_id: &str, group: &str) -> Option<i64> {
        self.scaling_events(namespace, job_id)?
            .get(group)?
            .iter()
            .filter(|e| e.is_action())
            .map(|e| e.time)
            .max()
    }

    pub(super) fn record_scaling_events(
        &mut self,
        index: u64,
        events: Vec<(JobKey, String, ScalingEvent)>,
    ) {
        for (k, group, mut e) in events {
            e.create_index = index;
            let list = self
                .scaling_events
                .entry(k)
                .or_default()
                .entry(group)
                .or_default();
            list.insert(0, e);
            list.truncate(TRACKED_SCALING_EVENTS);
        }
    }

    /// All scaling events, for snapshots: `(job, group, events newest first)`.
    pub(super) fn all_scaling_events(&self) -> Vec<(&JobKey, &String, &Vec<ScalingEvent>)> {
        self.scaling_events
            .iter()
            .flat_map(|(k, groups)| groups.iter().map(move |(g, l)| (k, g, l)))
            .collect()
    }

    pub(super) fn restore_scaling_events(
        &mut self,
        list: Vec<(JobKey, String, Vec<ScalingEvent>)>,
    ) {
        for (k, g, l) in list {
            self.scaling_events.entry(k).or_default().insert(g, l);
        }
    }
}
