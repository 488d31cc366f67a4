//! Shared workload generators for the orch bench programs (see BENCHMARKS.md).
