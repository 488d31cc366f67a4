//! Scheduling: turning evaluations into plans.

pub mod reconcile;
