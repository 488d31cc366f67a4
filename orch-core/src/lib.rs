//! orch-core: the pure, deterministic heart of orch.
pub mod jobspec;
pub mod model;
pub mod state;
