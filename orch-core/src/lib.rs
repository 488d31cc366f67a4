//! orch-core: the pure, deterministic heart of orch.
//!
//! No I/O, no clock, no unseeded randomness: time and IDs arrive as arguments, so the
//! same input always gives byte-identical output.
//!
//! Jobs in:
//! - [`jobspec`]: HCL2 and JSON jobspecs into a canonical, validated [`model::Job`].
//! - [`canonical`]: Nomad's defaults, filled into a submitted job.
//! - [`validate`]: Nomad's rules, every problem with the path of its field.
//! - [`model`]: the cluster's data model in Nomad's JSON shape.
//!
//! The server loop:
//! - [`acl`]: Nomad's ACL policy language and the rights of one caller.
//! - [`state`]: the replicated state machine, changed only by applying commands.
//! - [`broker`]: the evaluation broker and the blocked-evaluation tracker.
//! - [`scheduler`]: from an evaluation to a plan, and the plan applier's check.
//! - [`sim`]: the whole server loop in one process, in virtual time.
//!
//! The pure halves of the leader's and the client's loops:
//! - [`drain`]: which allocations leave draining nodes, and when a drain is done.
//! - [`periodic`]: cron schedules and the children of periodic jobs.
//! - [`dispatch`]: dispatch requests and the children of parameterized jobs.
//! - [`autoscale`]: scaling policies and the autoscaler's decisions.
//! - [`strconv`]: Go's rules for the booleans Nomad's flags and queries take.
//! - [`lifecycle`]: which tasks of an allocation run when, restarts, the task environment.
//! - [`workflow`]: orch's dependencies between jobs and ordered groups.

pub mod acl;
pub mod autoscale;
pub mod broker;
pub mod canonical;
pub mod dispatch;
pub mod drain;
pub mod duration;
pub mod jobspec;
pub mod leader;
pub mod lifecycle;
pub mod model;
pub mod periodic;
pub mod scheduler;
pub mod sim;
pub mod state;
pub mod strconv;
pub mod validate;
pub mod workflow;
