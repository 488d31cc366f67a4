//! Jobspec parsing (placeholder until the parser lands).
