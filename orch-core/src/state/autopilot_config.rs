//! The cluster's autopilot configuration in the store (Nomad's `AutopilotConfig`
//! table): one record with Nomad's defaults until first set, replaced whole by
//! `AutopilotConfigSet`, optionally as a check-and-set on its `ModifyIndex`, like the
//! scheduler configuration.

use serde::{Deserialize, Serialize};

use super::changes::{Changes, Outcome};
use super::sched_config::{check_cas, created_at};
use super::{Response, StateStore};
use crate::model::AutopilotConfiguration;

/// Table name for [`StateStore::index`].
pub const AUTOPILOT_CONFIG_TABLE: &str = "autopilot_config";

/// Replace the autopilot configuration (Nomad's `Operator.AutopilotSetConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AutopilotConfigSet {
    /// The new configuration, complete (its indexes are the store's).
    pub config: AutopilotConfiguration,
    /// Check-and-set on the stored `ModifyIndex` (refused with a conflict otherwise).
    pub cas: Option<u64>,
}

impl StateStore {
    /// The autopilot configuration the leader applies.
    pub fn autopilot_config(&self) -> &AutopilotConfiguration {
        &self.autopilot_config
    }

    pub(super) fn autopilot_config_set(&self, c: AutopilotConfigSet) -> Outcome {
        check_cas(
            "autopilot configuration",
            self.autopilot_config.modify_index,
            c.cas,
        )?;
        let ch = Changes {
            autopilot_config: Some(c.config),
            ..Changes::default()
        };
        Ok((ch, Response::default()))
    }

    /// Writes a staged configuration; returns whether the table changed.
    pub(super) fn commit_autopilot_config(
        &mut self,
        index: u64,
        config: Option<AutopilotConfiguration>,
    ) -> bool {
        let Some(mut config) = config else {
            return false;
        };
        config.create_index = created_at(self.autopilot_config.create_index, index);
        config.modify_index = index;
        self.autopilot_config = config;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Command, StateError};

    fn set(s: &mut StateStore, index: u64, cas: Option<u64>) -> Result<Response, StateError> {
        let config = AutopilotConfiguration {
            cleanup_dead_servers: false,
            max_trailing_logs: 10,
            ..AutopilotConfiguration::default()
        };
        s.apply(
            index,
            Command::AutopilotConfigSet(AutopilotConfigSet { config, cas }),
        )
    }

    #[test]
    fn defaults_then_a_checked_replacement_that_survives_a_snapshot() {
        let mut s = StateStore::new();
        assert!(s.autopilot_config().cleanup_dead_servers);
        assert_eq!(s.autopilot_config().max_trailing_logs, 250);
        set(&mut s, 4, Some(0)).unwrap();
        assert_eq!(s.autopilot_config().max_trailing_logs, 10);
        assert_eq!(
            (
                s.autopilot_config().create_index,
                s.index(AUTOPILOT_CONFIG_TABLE)
            ),
            (4, 4)
        );
        let before = s.clone();
        let err = set(&mut s, 5, Some(1)).unwrap_err();
        assert!(err.to_string().contains("ModifyIndex is 4"), "{err}");
        assert_eq!(s, before);
        set(&mut s, 6, Some(4)).unwrap();
        let bytes = s.snapshot().unwrap();
        let r = StateStore::restore(&bytes).unwrap();
        assert_eq!(r.autopilot_config(), s.autopilot_config());
        assert_eq!(r, s);
    }
}
