//! What a simulated cluster looks like: placements, what is left unplaced, utilisation
//! per dimension and how many nodes carry work; and "how many more of this job fit".

use std::collections::BTreeMap;

use super::{Cluster, SimError};
use crate::model::{AllocationMetric, Job, Usage, node_status};

/// A snapshot of the cluster's load.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterReport {
    /// Live (non-terminal) allocations.
    pub placed: u64,
    /// Allocations waiting in blocked evaluations, all jobs.
    pub unplaced: u64,
    /// Ready nodes.
    pub nodes: u64,
    /// Ready nodes holding at least one live allocation.
    pub nodes_used: u64,
    /// Resources held, summed over ready nodes.
    pub used: Usage,
    /// Capacity, summed over ready nodes.
    pub capacity: Usage,
    /// Live allocations per node.
    pub allocs_per_node: BTreeMap<String, u64>,
}

impl ClusterReport {
    /// Share of CPU held, 0..1.
    pub fn cpu_util(&self) -> f64 {
        ratio(self.used.cpu_mhz, self.capacity.cpu_mhz)
    }

    /// Share of memory held, 0..1.
    pub fn memory_util(&self) -> f64 {
        ratio(self.used.memory_mb, self.capacity.memory_mb)
    }

    /// Share of disk held, 0..1.
    pub fn disk_util(&self) -> f64 {
        ratio(self.used.disk_mb, self.capacity.disk_mb)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The answer to "how many more of this job fit, and where?".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FitReport {
    /// Allocations of the job's first group that could be placed.
    pub fits: u64,
    /// Where they went.
    pub by_node: BTreeMap<String, u64>,
    /// Why the next one would not fit (nodes filtered, exhausted dimensions), if the
    /// search stopped short of `max`.
    pub limit: Option<AllocationMetric>,
}

impl Cluster {
    /// Load of the cluster now.
    pub fn report(&self) -> ClusterReport {
        let mut r = ClusterReport::default();
        for node in self
            .state
            .nodes()
            .filter(|n| n.status == node_status::READY)
        {
            r.nodes += 1;
            r.capacity.add(&node.capacity());
            r.used.add(&self.state.node_usage(&node.id));
            let live = self
                .state
                .allocs_by_node(&node.id)
                .into_iter()
                .filter(|a| !a.terminal())
                .count() as u64;
            if live > 0 {
                r.nodes_used += 1;
                r.allocs_per_node.insert(node.id.clone(), live);
            }
            r.placed += live;
        }
        r.unplaced = self
            .blocked
            .unplaced()
            .values()
            .flat_map(|g| g.values())
            .sum();
        r
    }

    /// Places up to `max` allocations of the job's first group on a copy of the cluster
    /// and reports how many fit and where. The cluster itself is not changed.
    pub fn how_many_fit(&self, job: &Job, max: u32) -> Result<FitReport, SimError> {
        let mut trial = self.clone();
        let mut probe = job.clone();
        probe.id = format!("{}-capacity-probe", job.id);
        probe.name = probe.id.clone();
        probe.task_groups.truncate(1);
        if let Some(g) = probe.task_groups.first_mut() {
            g.count = max;
            g.scaling = None;
        }
        trial.submit_job(probe.clone())?;
        trial.run_to_quiescence()?;
        let mut report = FitReport::default();
        for a in trial
            .state
            .allocs_by_job(&probe.namespace, &probe.id)
            .into_iter()
            .filter(|a| !a.terminal())
        {
            report.fits += 1;
            *report.by_node.entry(a.node_id.to_string()).or_default() += 1;
        }
        report.limit = trial
            .failures(&probe.namespace, &probe.id)
            .into_values()
            .next();
        Ok(report)
    }
}
