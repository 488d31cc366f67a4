//! Cluster-wide scheduler settings (Nomad's `SchedulerConfiguration`), and where orch's
//! defaults deliberately differ from Nomad's (each difference can be switched back).

use super::rank::Algorithm;
use crate::model::{SchedulerAlgorithm, SchedulerConfiguration, job_type};

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
    /// Whether placements keep their tasks' `memory_max` (Nomad's
    /// `MemoryOversubscriptionEnabled`; off by default, as in Nomad, so a task's memory
    /// limit is its reservation).
    pub memory_oversubscription: bool,
}

impl SchedulerConfig {
    /// These settings with the replicated cluster configuration's algorithm, preemption
    /// switches and memory oversubscription: what the leader schedules each evaluation
    /// with, so an operator's change applies to the next evaluation. orch's own knobs
    /// (`exhaustive`, `fill_order`, `anti_affinity`) keep their values.
    pub fn with_cluster(&self, cluster: &SchedulerConfiguration) -> SchedulerConfig {
        let p = &cluster.preemption_config;
        SchedulerConfig {
            algorithm: match cluster.scheduler_algorithm {
                SchedulerAlgorithm::Binpack => Algorithm::Binpack,
                SchedulerAlgorithm::Spread => Algorithm::Spread,
            },
            preemption: PreemptionConfig {
                system: p.system_scheduler_enabled,
                sysbatch: p.sysbatch_scheduler_enabled,
                service: p.service_scheduler_enabled,
                batch: p.batch_scheduler_enabled,
            },
            memory_oversubscription: cluster.memory_oversubscription_enabled,
            ..self.clone()
        }
    }

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
            memory_oversubscription: false,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_configuration_overrides_only_its_own_settings() {
        let local = SchedulerConfig {
            exhaustive: true,
            fill_order: FillOrder::Random,
            anti_affinity: AntiAffinity::Nomad,
            ..SchedulerConfig::default()
        };
        let mut cluster = SchedulerConfiguration {
            scheduler_algorithm: SchedulerAlgorithm::Spread,
            memory_oversubscription_enabled: true,
            ..Default::default()
        };
        cluster.preemption_config.service_scheduler_enabled = true;
        cluster.preemption_config.system_scheduler_enabled = false;
        let c = local.with_cluster(&cluster);
        assert_eq!(c.algorithm, Algorithm::Spread);
        assert!(c.preemption.service && !c.preemption.system && c.preemption.sysbatch);
        assert!(c.memory_oversubscription);
        assert!(c.exhaustive);
        assert_eq!(c.fill_order, FillOrder::Random);
        assert_eq!(c.anti_affinity, AntiAffinity::Nomad);
        let back = c.with_cluster(&SchedulerConfiguration::default());
        assert_eq!(back.algorithm, Algorithm::Binpack);
        assert_eq!(back.preemption, PreemptionConfig::default());
        assert!(!back.memory_oversubscription);
    }

    fn sim_node() -> crate::model::Node {
        let mut n = crate::model::Node {
            id: "node-1".into(),
            name: "host1".into(),
            datacenter: "dc1".into(),
            ..Default::default()
        };
        n.node_resources.cpu.cpu_shares = 4000;
        n.node_resources.memory.memory_mb = 8192;
        n.node_resources.disk.disk_mb = 50_000;
        let driver = crate::model::DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        };
        n.drivers.insert("raw_exec".into(), driver);
        n.computed_class = crate::state::compute_class(&n);
        n
    }

    fn roomy_job(id: &str) -> crate::model::Job {
        let mut t = crate::model::Task {
            name: "t".into(),
            driver: "raw_exec".into(),
            ..Default::default()
        };
        (t.resources.cpu, t.resources.memory_mb) = (100, 64);
        t.resources.memory_max_mb = 256;
        crate::model::Job {
            id: id.into(),
            namespace: "default".into(),
            datacenters: vec!["dc1".into()],
            job_type: job_type::SERVICE.into(),
            task_groups: vec![crate::model::TaskGroup {
                name: "g".into(),
                count: 1,
                tasks: vec![t],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn memory_max_is_kept_only_with_oversubscription() {
        let mut c = crate::sim::Cluster::new(1);
        c.add_node(sim_node()).unwrap();
        let memory_max = |c: &crate::sim::Cluster, job: &str| {
            let a = c.state.allocs().find(|a| &*a.job_id == job).unwrap();
            a.allocated_resources.tasks["t"].memory.memory_max_mb
        };
        c.submit_job(roomy_job("off")).unwrap();
        c.run_to_quiescence().unwrap();
        assert_eq!(memory_max(&c, "off"), 0, "Nomad drops memory_max");
        c.config.memory_oversubscription = true;
        c.submit_job(roomy_job("on")).unwrap();
        c.run_to_quiescence().unwrap();
        assert_eq!(memory_max(&c, "on"), 256);
    }
}
