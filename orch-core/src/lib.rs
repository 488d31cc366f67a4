//! orch-core: the pure, deterministic heart of orch.
//!
//! Nomad's job model ([`model`]), jobspec parsing ([`jobspec`]) with Nomad's defaults
//! ([`canonical`]) and rules ([`validate`]), and the replicated state machine ([`state`]).
//! No I/O, no clock, no unseeded randomness: time and IDs arrive as arguments, so the
//! same input always gives byte-identical output.

pub mod autoscale;
pub mod broker;
pub mod canonical;
pub mod dispatch;
pub mod drain;
pub mod jobspec;
pub mod lifecycle;
pub mod model;
pub mod periodic;
pub mod scheduler;
pub mod sim;
pub mod state;
pub mod validate;
