//! Feasibility: which nodes can run a task group at all, before any ranking.
//!
//! Mirrors Nomad's `scheduler/feasible.go` so placements and the reasons shown for
//! filtered nodes match Nomad's: constraint operators ([`constraint`]), go-version
//! and semver matching ([`version`]), unit-aware device attributes ([`attribute`]),
//! the checkers ([`checkers`], [`distinct`]), computed-class caching
//! ([`eligibility`]) and the per-evaluation stack tying them together ([`stack`]).
//!
//! Everything that can be prepared once per evaluation (parsed targets, regexes,
//! version constraints, reason strings) is, so the per-node path only looks values up.

pub mod attribute;
pub mod checkers;
pub mod constraint;
pub mod csi;
pub mod distinct;
pub mod eligibility;
pub mod stack;
pub mod version;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_devices;

pub use checkers::{
    ConstraintChecker, DeviceChecker, DeviceReq, DriverChecker, HostVolumeChecker, NodeReadyChecker,
};
pub use constraint::{CompiledConstraint, Target, resolve_target};
pub use distinct::{DistinctHostsChecker, DistinctPropertyChecker, ProposedAllocs};
pub use eligibility::{ClassRef, ClassStatus, EvalEligibility};
pub use stack::{FeasibilityStack, FilterReason, record_evaluated, record_filtered};
pub use version::{Version, VersionConstraints};
