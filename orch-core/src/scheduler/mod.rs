//! The scheduler: from an evaluation and a state snapshot to a plan, and the plan
//! applier's verification of that plan against the latest state.

pub mod feasible;
pub mod plan;
pub mod ports;
pub mod preempt;
pub mod rank;
pub mod reconcile;
pub mod rng;
pub mod verify;
