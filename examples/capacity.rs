//! Embedding orch-core as a capacity planner: build a cluster, run today's jobs on it,
//! then ask "how many more of this job fit, and where?" — without touching a server.
//!
//! `cargo run -p orch-core --example capacity`

use orch_core::model::{DriverInfo, Job, Node, Task, TaskGroup};
use orch_core::sim::Cluster;

fn node(i: usize, cpu_mhz: u64, memory_mb: u64) -> Node {
    let mut n = Node {
        id: format!("node-{i:02}"),
        name: format!("node-{i:02}"),
        datacenter: "dc1".into(),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = cpu_mhz;
    n.node_resources.memory.memory_mb = memory_mb;
    n.node_resources.disk.disk_mb = 50_000;
    n.drivers.insert(
        "exec".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..DriverInfo::default()
        },
    );
    n.computed_class = orch_core::state::compute_class(&n);
    n
}

fn service(id: &str, count: u32, cpu: u64, memory_mb: u64) -> Job {
    let mut task = Task {
        name: "app".into(),
        driver: "exec".into(),
        ..Task::default()
    };
    task.resources.cpu = cpu;
    task.resources.memory_mb = memory_mb;
    Job {
        id: id.into(),
        task_groups: vec![TaskGroup {
            name: "app".into(),
            count,
            tasks: vec![task],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Ten small nodes and four big ones.
    let mut cluster = Cluster::new(42);
    for i in 0..10 {
        cluster.add_node(node(i, 4_000, 8_192))?;
    }
    for i in 10..14 {
        cluster.add_node(node(i, 16_000, 32_768))?;
    }
    // Today's workload.
    cluster.submit_job(service("api", 20, 500, 1_024))?;
    cluster.submit_job(service("cache", 6, 1_000, 4_096))?;
    cluster.run_to_quiescence()?;
    let now = cluster.report();
    println!(
        "running: {} allocations on {} of {} nodes; cpu {:.0}%, memory {:.0}%",
        now.placed,
        now.nodes_used,
        now.nodes,
        now.cpu_util() * 100.0,
        now.memory_util() * 100.0
    );

    // The question: how many more workers of 2 GHz / 3 GB fit?
    let worker = service("worker", 1, 2_000, 3_072);
    let fit = cluster.how_many_fit(&worker, 1_000)?;
    println!("{} more workers fit:", fit.fits);
    for (node, n) in &fit.by_node {
        println!("  {node}: {n}");
    }
    if let Some(limit) = fit.limit {
        println!(
            "then every node runs out of: {:?}",
            limit.dimension_exhausted
        );
    }
    Ok(())
}
