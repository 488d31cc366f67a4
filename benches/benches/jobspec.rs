//! How fast a jobspec becomes a canonical, validated job: the cost every `job run` and
//! every `PUT /v1/jobs` pays before Raft.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const HCL: &str = include_str!("../../examples/web.nomad.hcl");

fn bench_jobspec(c: &mut Criterion) {
    let vars = Default::default();
    c.bench_function("jobspec/hcl_to_job", |b| {
        b.iter(|| orch_core::jobspec::parse_jobspec("web.nomad.hcl", black_box(HCL), &vars))
    });
    let json = match orch_core::jobspec::parse_jobspec("web.nomad.hcl", HCL, &vars) {
        Ok(job) => serde_json::to_string(&job).unwrap_or_default(),
        Err(e) => panic!("example jobspec must parse: {e}"),
    };
    c.bench_function("jobspec/json_to_job", |b| {
        b.iter(|| orch_core::jobspec::from_json::parse_job_json(black_box(&json)))
    });
}

criterion_group!(benches, bench_jobspec);
criterion_main!(benches);
