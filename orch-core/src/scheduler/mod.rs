pub mod feasible;
