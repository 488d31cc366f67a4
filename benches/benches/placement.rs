//! What one placement costs as the cluster grows: one evaluation of a one-allocation c1m
//! job (building the eligible-node order included) on 1,000, 10,000 and 100,000 nodes,
//! each already carrying the same 20,000 c1m allocations. Flat cost in cluster size is
//! the goal (issue 16); see `benches/README.md`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use orch_benches::{c1m_job, c1m_jobs, c1m_node};
use orch_core::scheduler::{SchedulerConfig, process_eval};
use orch_core::sim::Cluster;

fn loaded_cluster(nodes: usize) -> Cluster {
    let mut c = Cluster::new(1);
    for i in 0..nodes {
        if let Err(e) = c.add_node(c1m_node(i)) {
            panic!("c1m node {i} must register: {e}");
        }
    }
    for job in c1m_jobs(20_000) {
        if let Err(e) = c.submit_job(job).and_then(|_| c.run_to_quiescence()) {
            panic!("c1m preload must place: {e}");
        }
    }
    c
}

fn bench_placement(c: &mut Criterion) {
    let mut group = c.benchmark_group("placement/one_alloc_eval");
    group.sample_size(20);
    for nodes in [1_000usize, 10_000, 100_000] {
        let mut cluster = loaded_cluster(nodes);
        // Job 3 of the workload (CPU 100, memory 64), with one allocation.
        let mut job = c1m_job(3, 1);
        job.id = "probe".into();
        let eval_id = match cluster.submit_job(job) {
            Ok(id) => id,
            Err(e) => panic!("probe job must register: {e}"),
        };
        let Some(eval) = cluster.state.eval(&eval_id).cloned() else {
            panic!("the probe's evaluation must be stored");
        };
        let config = SchedulerConfig::default();
        group.bench_with_input(BenchmarkId::from_parameter(nodes), &nodes, |b, _| {
            b.iter(|| {
                let mut n = 0u64;
                let mut ids = || {
                    n += 1;
                    format!("{n:08x}-0000-4000-8000-000000000000")
                };
                let out = process_eval(&cluster.state, black_box(&eval), &config, 7, 0, &mut ids);
                assert_eq!(out.plan.placed(), 1);
                out
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_placement);
criterion_main!(benches);
