//! The cluster's scheduler configuration in the store (Nomad's `SchedulerConfig` table):
//! one record, present from the start with Nomad's defaults (indexes 0), replaced whole
//! by `SchedulerConfigSet`, optionally as a check-and-set on its `ModifyIndex`.
//!
//! Replicated rather than per-server so that every evaluation the leader processes,
//! whichever server leads, and every `GET` on any server see the same settings.

use serde::{Deserialize, Serialize};

use super::changes::{Changes, Outcome};
use super::{Response, StateError, StateStore};
use crate::model::{Job, SchedulerConfiguration};

/// Table name for [`StateStore::index`].
pub const SCHEDULER_CONFIG_TABLE: &str = "scheduler_config";

/// Replace the scheduler configuration (Nomad's `Operator.SchedulerSetConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchedulerConfigSet {
    /// The new configuration, complete (its indexes are the store's).
    pub config: SchedulerConfiguration,
    /// Check-and-set: apply only if the stored `ModifyIndex` equals this; otherwise the
    /// command is refused with [`StateError::Conflict`] (Nomad answers `Updated: false`).
    pub cas: Option<u64>,
}

impl StateStore {
    /// The scheduler configuration every evaluation is processed with.
    pub fn scheduler_config(&self) -> &SchedulerConfiguration {
        &self.sched_config
    }

    /// Nomad's registration warnings for tasks whose `memory_max` the scheduler drops
    /// because memory oversubscription is off (its words).
    pub(super) fn memory_max_warnings(&self, job: &Job) -> Vec<String> {
        if self.sched_config.memory_oversubscription_enabled {
            return Vec::new();
        }
        job.task_groups
            .iter()
            .flat_map(|g| g.tasks.iter().map(move |t| (g, t)))
            .filter(|(_, t)| t.resources.memory_max_mb != 0)
            .map(|(g, t)| {
                format!(
                    "Memory oversubscription is not enabled; Task \"{}.{}\" memory_max value will be ignored. Update the Scheduler Configuration to allow oversubscription.",
                    g.name, t.name
                )
            })
            .collect()
    }

    pub(super) fn scheduler_config_set(&self, c: SchedulerConfigSet) -> Outcome {
        check_cas(
            "scheduler configuration",
            self.sched_config.modify_index,
            c.cas,
        )?;
        let ch = Changes {
            scheduler_config: Some(c.config),
            ..Changes::default()
        };
        Ok((ch, Response::default()))
    }

    /// Writes a staged configuration; returns whether the table changed.
    pub(super) fn commit_scheduler_config(
        &mut self,
        index: u64,
        config: Option<SchedulerConfiguration>,
    ) -> bool {
        let Some(mut config) = config else {
            return false;
        };
        config.create_index = created_at(self.sched_config.create_index, index);
        config.modify_index = index;
        self.sched_config = config;
        true
    }
}

/// The check-and-set of a replaced settings record (`what`): refused unless `cas` is
/// absent or equals the stored `ModifyIndex`.
pub(super) fn check_cas(what: &str, modify_index: u64, cas: Option<u64>) -> Result<(), StateError> {
    match cas {
        Some(cas) if cas != modify_index => Err(StateError::Conflict(format!(
            "{what} check-and-set failed: its ModifyIndex is {modify_index}, not {cas}; read it again and retry with the current index"
        ))),
        _ => Ok(()),
    }
}

/// A settings record's `CreateIndex` after a write at `index`: the first write's.
pub(super) fn created_at(create_index: u64, index: u64) -> u64 {
    match create_index {
        0 => index,
        created => created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SchedulerAlgorithm;
    use crate::state::Command;

    fn spread() -> SchedulerConfiguration {
        SchedulerConfiguration {
            scheduler_algorithm: SchedulerAlgorithm::Spread,
            pause_eval_broker: true,
            ..Default::default()
        }
    }

    fn set(s: &mut StateStore, index: u64, cas: Option<u64>) -> Result<Response, StateError> {
        let config = spread();
        s.apply(
            index,
            Command::SchedulerConfigSet(SchedulerConfigSet { config, cas }),
        )
    }

    #[test]
    fn a_fresh_store_has_nomads_defaults() {
        let s = StateStore::new();
        let c = s.scheduler_config();
        assert_eq!(c.scheduler_algorithm, SchedulerAlgorithm::Binpack);
        assert!(c.preemption_config.system_scheduler_enabled);
        assert!(c.preemption_config.sysbatch_scheduler_enabled);
        assert!(!c.preemption_config.batch_scheduler_enabled);
        assert!(!c.preemption_config.service_scheduler_enabled);
        assert!(!c.memory_oversubscription_enabled);
        assert!(!c.reject_job_registration && !c.pause_eval_broker);
        assert_eq!((c.create_index, c.modify_index), (0, 0));
    }

    #[test]
    fn set_stamps_indexes_and_bumps_the_table() {
        let mut s = StateStore::new();
        set(&mut s, 5, None).unwrap();
        assert_eq!(
            s.scheduler_config().scheduler_algorithm,
            SchedulerAlgorithm::Spread
        );
        assert_eq!(s.scheduler_config().create_index, 5);
        assert_eq!(s.scheduler_config().modify_index, 5);
        assert_eq!(s.index(SCHEDULER_CONFIG_TABLE), 5);
        set(&mut s, 9, None).unwrap();
        assert_eq!(s.scheduler_config().create_index, 5, "created once");
        assert_eq!(s.scheduler_config().modify_index, 9);
    }

    #[test]
    fn check_and_set_applies_only_on_the_current_modify_index() {
        let mut s = StateStore::new();
        set(&mut s, 3, Some(0)).unwrap();
        let before = s.clone();
        let err = set(&mut s, 4, Some(2)).unwrap_err();
        assert!(matches!(err, StateError::Conflict(_)), "{err}");
        assert!(err.to_string().contains("ModifyIndex is 3"), "{err}");
        assert_eq!(s, before, "a refused check-and-set changes nothing");
        set(&mut s, 4, Some(3)).unwrap();
        assert_eq!(s.scheduler_config().modify_index, 4);
    }

    #[test]
    fn memory_max_warns_unless_oversubscription_is_on() {
        use crate::state::testutil::{job, register};
        let mut s = StateStore::new();
        let mut j = job("web");
        j.task_groups[0].tasks[0].resources.memory_max_mb = 1024;
        let (g, t) = (
            j.task_groups[0].name.clone(),
            j.task_groups[0].tasks[0].name.clone(),
        );
        let r = s.apply(1, register(j.clone())).unwrap();
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains(&format!(
            "Task \"{g}.{t}\" memory_max value will be ignored"
        )));
        let config = SchedulerConfiguration {
            memory_oversubscription_enabled: true,
            ..Default::default()
        };
        let cmd = Command::SchedulerConfigSet(SchedulerConfigSet { config, cas: None });
        s.apply(2, cmd).unwrap();
        j.meta.insert("v".into(), "2".into());
        let r = s.apply(3, register(j)).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn the_configuration_survives_a_snapshot() {
        let mut s = StateStore::new();
        set(&mut s, 7, None).unwrap();
        let bytes = s.snapshot().unwrap();
        let r = StateStore::restore(&bytes).unwrap();
        assert_eq!(r.scheduler_config(), s.scheduler_config());
        assert_eq!(r, s);
        assert_eq!(r.snapshot().unwrap(), bytes);
    }
}
