//! Nomad's cluster-wide `SchedulerConfiguration`: what `/v1/operator/scheduler/configuration`
//! reads and writes, replicated through Raft so every server (and every evaluation the
//! leader processes) sees the same settings.
//!
//! The wire names are Nomad's. Defaults are Nomad's too, except preemption of sysbatch
//! jobs, which orch has always enabled (as [`crate::scheduler::PreemptionConfig`] does):
//! binpack, preemption for system and sysbatch jobs only, no memory oversubscription,
//! registrations accepted, the broker running.

use serde::{Deserialize, Serialize};

/// How the scheduler ranks nodes (Nomad's `SchedulerAlgorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SchedulerAlgorithm {
    /// Fill the fullest nodes first (Nomad's default).
    #[default]
    #[serde(rename = "binpack")]
    Binpack,
    /// Prefer the emptiest nodes.
    #[serde(rename = "spread")]
    Spread,
}

impl SchedulerAlgorithm {
    /// Nomad's name (`binpack`, `spread`).
    pub fn as_str(self) -> &'static str {
        match self {
            SchedulerAlgorithm::Binpack => "binpack",
            SchedulerAlgorithm::Spread => "spread",
        }
    }

    /// Parses Nomad's name; the empty string is binpack, as Nomad's
    /// `EffectiveSchedulerAlgorithm` reads it.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "binpack" => Some(SchedulerAlgorithm::Binpack),
            "spread" => Some(SchedulerAlgorithm::Spread),
            _ => None,
        }
    }
}

/// Which scheduler types may preempt lower-priority allocations (Nomad's
/// `PreemptionConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreemptionSettings {
    /// System jobs may preempt.
    #[serde(rename = "SystemSchedulerEnabled")]
    pub system_scheduler_enabled: bool,
    /// Sysbatch jobs may preempt.
    #[serde(rename = "SysBatchSchedulerEnabled")]
    pub sysbatch_scheduler_enabled: bool,
    /// Batch jobs may preempt.
    #[serde(rename = "BatchSchedulerEnabled")]
    pub batch_scheduler_enabled: bool,
    /// Service jobs may preempt.
    #[serde(rename = "ServiceSchedulerEnabled")]
    pub service_scheduler_enabled: bool,
}

impl Default for PreemptionSettings {
    fn default() -> Self {
        PreemptionSettings {
            system_scheduler_enabled: true,
            sysbatch_scheduler_enabled: true,
            batch_scheduler_enabled: false,
            service_scheduler_enabled: false,
        }
    }
}

/// The replicated scheduler configuration (Nomad's `SchedulerConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchedulerConfiguration {
    /// Binpack or spread.
    #[serde(rename = "SchedulerAlgorithm")]
    pub scheduler_algorithm: SchedulerAlgorithm,
    /// Preemption per scheduler type.
    #[serde(rename = "PreemptionConfig")]
    pub preemption_config: PreemptionSettings,
    /// Whether tasks' `memory_max` is honoured (off: placements keep only `memory`).
    #[serde(rename = "MemoryOversubscriptionEnabled")]
    pub memory_oversubscription_enabled: bool,
    /// Whether job registration, dispatch and scaling are refused to all but
    /// management tokens (an operator shedding load during an incident).
    #[serde(rename = "RejectJobRegistration")]
    pub reject_job_registration: bool,
    /// Whether the leader stops handing evaluations to its scheduler workers.
    #[serde(rename = "PauseEvalBroker")]
    pub pause_eval_broker: bool,
    /// Raft index of the first write (0 while the defaults were never written).
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of the last write: what `?cas=` compares against.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}
