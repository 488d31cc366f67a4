//! Jobspec parsing: HCL2 (the HCL parser lands separately) and JSON.
pub mod from_json;
