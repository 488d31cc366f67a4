//! orch's metric gate on an update (README, "Beyond Nomad: workflows"):
//! `update { gate { source, query, condition, for, deadline } }`. Nomad has none.
//!
//! The gate travels in the job's API JSON (`Update.Gate`) but not in its stored layout:
//! [`human_only`] writes it only to human-readable formats (JSON), and nothing to
//! postcard, so the job layout of the Raft log and of snapshots is byte for byte what
//! it was (the data dirs of released versions still read). The servers keep each job
//! version's gates in a side table instead (`state::gates`), filled by the HTTP API when
//! it takes the gate out of the registered job.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Nanos;

/// `gate { ... }` in an `update` block: the next batch of a rolling update (and the
/// auto-promotion of canaries) waits until `query` has met `condition` for `for`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateGate {
    /// `prometheus` (the agent's `autoscaler.prometheus_address`) or `nomad-apm`.
    #[serde(rename = "Source")]
    pub source: String,
    /// The query: PromQL giving one number, or a `nomad-apm` query (`avg_cpu`, ...).
    #[serde(rename = "Query")]
    pub query: String,
    /// `<op> <number>`, op one of `<`, `<=`, `>`, `>=`, `==`, `!=` (`"< 0.01"`).
    #[serde(rename = "Condition")]
    pub condition: String,
    /// How long the condition must hold without a break before the gate opens.
    #[serde(rename = "For")]
    pub for_: Nanos,
    /// How long a gate may stay shut before the deployment fails (defaults to the
    /// group's `progress_deadline`).
    #[serde(rename = "Deadline")]
    pub deadline: Nanos,
}

/// Serde helper for `UpdateStrategy.Gate`: the value in human-readable formats, a unit
/// (zero bytes in postcard) otherwise, read back as `None`. Why: the stored job layout
/// stays that of snapshot format 12, so no format bump and no upgrade are needed; the
/// gates live in the state's side table.
pub mod human_only {
    use super::*;

    /// Writes the gate to JSON, nothing to postcard.
    pub fn serialize<S: Serializer>(v: &Option<UpdateGate>, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            v.serialize(s)
        } else {
            s.serialize_unit()
        }
    }

    /// Reads the gate from JSON; postcard holds none.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UpdateGate>, D::Error> {
        if d.is_human_readable() {
            Option::<UpdateGate>::deserialize(d)
        } else {
            <()>::deserialize(d)?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UpdateStrategy;

    #[test]
    fn the_gate_is_json_only_and_leaves_the_postcard_layout_unchanged() {
        let plain = UpdateStrategy::default();
        let gated = UpdateStrategy {
            gate: Some(UpdateGate {
                source: "prometheus".into(),
                query: "up".into(),
                condition: "< 1".into(),
                for_: 1,
                deadline: 2,
            }),
            ..UpdateStrategy::default()
        };
        let a = postcard::to_allocvec(&plain).unwrap();
        let b = postcard::to_allocvec(&gated).unwrap();
        assert_eq!(a, b);
        let back: UpdateStrategy = postcard::from_bytes(&b).unwrap();
        assert_eq!(back, plain);
        let json = serde_json::to_value(&gated).unwrap();
        assert_eq!(json["Gate"]["Condition"], "< 1");
        let back: UpdateStrategy = serde_json::from_value(json).unwrap();
        assert_eq!(back, gated);
    }
}
