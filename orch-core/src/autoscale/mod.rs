//! Horizontal autoscaling, the pure half: the typed policy ([`policy`]), the strategies'
//! arithmetic and how several checks combine into one decision ([`decide`]), the
//! built-in `nomad-apm` query language ([`NomadQuery`]) and policy IDs.
//!
//! The leader's autoscaler (in orch-daemon) does the I/O: it queries the sources, passes
//! the values and the clock in here, and turns a [`Decision`] into a `JobScale` command.
//! Keeping the arithmetic here makes it testable without a cluster (see the property
//! tests) and identical on every server.
//!
//! Modules: [`cluster`] (the cluster-scaling hook's decisions: nodes to add or drain per
//! node pool, an orch extension), [`policy`] (the typed `scaling { policy }` block), `decide` (the strategies
//! and how checks combine; re-exported here) and `tests` (unit and property tests).

pub mod cluster;
mod decide;
pub mod policy;
#[cfg(test)]
mod tests;

pub use decide::{CheckInput, CheckOutcome, Decision, Direction, decide, in_cooldown};
pub use policy::{
    Check, OnError, Policy, PolicyError, Source, Strategy, ThresholdAction, parse_policy,
};

/// Meta key of a scaling event naming the policy that caused it.
pub const META_POLICY_ID: &str = "nomad_policy_id";

/// Namespace of orch's scaling-policy UUIDs (a fixed random v4 UUID).
const POLICY_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6b1f_0c3e_59a4_4d2a_9c1e_7f3b_2a8d_4e61);

/// A stable scaling-policy ID for `(namespace, job, group)`: the same across job versions
/// and on every server, without storing anything: a UUID v5 of the three names.
pub fn policy_id(namespace: &str, job: &str, group: &str) -> String {
    // NUL separators: names cannot contain it, so distinct triples never collide.
    let name = format!("{namespace}\0{job}\0{group}");
    uuid::Uuid::new_v5(&POLICY_ID_NAMESPACE, name.as_bytes()).to_string()
}

/// How a `nomad-apm` query aggregates over the group's allocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// Mean over allocations.
    Avg,
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// Total.
    Sum,
}

/// Which per-allocation value a `nomad-apm` query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NomadMetric {
    /// CPU used, MHz (Nomad's `TotalTicks`).
    Cpu,
    /// Memory used, bytes.
    Memory,
    /// CPU used as a percentage of the allocation's `cpu` resources.
    CpuAllocated,
    /// Memory used as a percentage of the allocation's `memory` resources.
    MemoryAllocated,
}

/// A `nomad-apm` query: `<avg|min|max|sum>_<cpu|memory|cpu-allocated|memory-allocated>`,
/// as the nomad-autoscaler's Nomad APM plugin names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NomadQuery {
    /// Aggregation over allocations.
    pub aggregate: Aggregate,
    /// Per-allocation value.
    pub metric: NomadMetric,
}

impl NomadQuery {
    /// Parses a query; the error lists the valid forms.
    pub fn parse(q: &str) -> Result<NomadQuery, String> {
        let bad = || {
            format!(
                "invalid nomad-apm query {q:?}: use <avg|min|max|sum>_<cpu|memory|cpu-allocated|memory-allocated>, e.g. \"avg_cpu-allocated\""
            )
        };
        let (op, metric) = q.trim().split_once('_').ok_or_else(bad)?;
        let aggregate = match op {
            "avg" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "sum" => Aggregate::Sum,
            _ => return Err(bad()),
        };
        let metric = match metric {
            "cpu" => NomadMetric::Cpu,
            "memory" => NomadMetric::Memory,
            "cpu-allocated" => NomadMetric::CpuAllocated,
            "memory-allocated" => NomadMetric::MemoryAllocated,
            _ => return Err(bad()),
        };
        Ok(NomadQuery { aggregate, metric })
    }

    /// Aggregates per-allocation values; `None` when there are none (no data: no action).
    pub fn aggregate(&self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        let v = match self.aggregate {
            Aggregate::Avg => values.iter().sum::<f64>() / values.len() as f64,
            Aggregate::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Aggregate::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggregate::Sum => values.iter().sum(),
        };
        Some(v)
    }
}
