//! The leader's decisions, as pure state machines over the replicated state, so that
//! the servers and the simulator run the same code. Time, IDs and seeds are arguments:
//! the servers' async shell (`orch-daemon`'s `server::leader`) passes its own and
//! replicates what comes back; [`crate::sim::Cluster`] passes virtual time and seeded
//! IDs and applies it in line.
//!
//! - [`Feeder`]: evaluations from the state into the broker and the blocked tracker,
//!   and what the tracker lets out (capacity, quotas, job dependencies, retries).
//! - [`EvalRun`]: one evaluation's plan loop (schedule, submit, re-plan the refused
//!   part, record the outcome).
//! - [`HeartbeatTimers`]: which clients missed their heartbeat, and what they become.
//! - [`deployments`]: the deployment watcher (progress, failure, revert, promotion).
//! - [`gc`]: what the core GC collects, and failed evaluations' follow-ups.
//! - [`autoscaler`]: which scaling policies are due, which wait, and the `Job.Scale`
//!   a decision makes (the checks' arithmetic is [`crate::autoscale::decide`]).
//!
//! The plan applier's decision is [`crate::scheduler::verify::verify_plan`]; the
//! drainer's and the periodic dispatcher's live in [`crate::drain`] and
//! [`crate::periodic`].

pub mod autoscaler;
pub mod deployments;
mod eval_run;
mod feeder;
pub mod gc;
mod heartbeat;

pub use eval_run::{EvalRun, MAX_TOTAL_PLAN_ATTEMPTS, PlanVerdict};
pub use feeder::{FAILED_UNBLOCK_INTERVAL_NS, FeedOutcome, FeedPass, Feeder, UNBLOCK_INDEX_TTL_NS};
pub use heartbeat::{HeartbeatConfig, HeartbeatTimers, scaled_ttl};
