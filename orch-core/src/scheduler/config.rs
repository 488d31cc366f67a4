//! Cluster-wide scheduler settings (Nomad's `SchedulerConfiguration`), and where orch's
//! defaults deliberately differ from Nomad's (each difference can be switched back).

use super::rank::Algorithm;
use crate::model::job_type;

/// Cluster-wide scheduler settings (Nomad's `SchedulerConfiguration`).
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    /// Binpack (default) or spread.
    pub algorithm: Algorithm,
    /// Which job types may preempt lower-priority allocations.
    pub preemption: PreemptionConfig,
    /// Score every feasible node instead of a sample: slower, packs tighter.
    pub exhaustive: bool,
    /// Node visiting order under binpack.
    pub fill_order: FillOrder,
    /// How hard allocations of one group avoid sharing a node.
    pub anti_affinity: AntiAffinity,
}

impl SchedulerConfig {
    /// orch's best fit: binpack visiting the fullest nodes first, scored on the waste
    /// of every dimension ([`super::rank::fit_score_waste`]).
    pub fn best_fit(&self) -> bool {
        self.algorithm == Algorithm::Binpack && self.fill_order == FillOrder::FullestFirst
    }
}

/// Job anti-affinity policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AntiAffinity {
    /// Penalize only beyond a fair share per node (see
    /// [`super::rank::job_anti_affinity_balanced`]): orch's default, packs tighter.
    #[default]
    Balanced,
    /// Penalize every collision, as Nomad does.
    Nomad,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            algorithm: Algorithm::Binpack,
            preemption: PreemptionConfig::default(),
            exhaustive: false,
            fill_order: FillOrder::default(),
            anti_affinity: AntiAffinity::default(),
        }
    }
}

/// The order in which binpack visits nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FillOrder {
    /// Fullest nodes first: candidates are the nodes most worth filling, so work packs
    /// onto fewer nodes than Nomad's random sample (orch's default).
    #[default]
    FullestFirst,
    /// A seeded random order, as Nomad samples.
    Random,
}

/// Preemption switches per scheduler type; Nomad's defaults: on for system and sysbatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreemptionConfig {
    /// System jobs.
    pub system: bool,
    /// Sysbatch jobs.
    pub sysbatch: bool,
    /// Service jobs.
    pub service: bool,
    /// Batch jobs.
    pub batch: bool,
}

impl Default for PreemptionConfig {
    fn default() -> Self {
        PreemptionConfig {
            system: true,
            sysbatch: true,
            service: false,
            batch: false,
        }
    }
}

impl PreemptionConfig {
    /// Whether jobs of this type may preempt.
    pub fn enabled_for(&self, jtype: &str) -> bool {
        match jtype {
            job_type::SYSTEM => self.system,
            job_type::SYSBATCH => self.sysbatch,
            job_type::BATCH => self.batch,
            _ => self.service,
        }
    }
}
