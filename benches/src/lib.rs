//! Workload generators for the orch bench programs, exactly as `BENCHMARKS.md` of the
//! design brief fixes them, so figures compare across releases. No randomness: anyone can
//! recompute the totals by hand.

pub mod callgrind;

use orch_core::model::{Constraint, DriverInfo, Job, Node, Spread, Task, TaskGroup, job_type};

/// Node `i` of the c1m cluster.
pub fn c1m_node(i: usize) -> Node {
    let (cpu, mem) = match i % 3 {
        0 => (4_000, 8_192),
        1 => (8_000, 16_384),
        _ => (16_000, 32_768),
    };
    let mut n = Node {
        id: format!("{:08x}-0000-4000-8000-{:012x}", i, i),
        name: format!("node-{i}"),
        datacenter: format!("dc{}", i % 4 + 1),
        node_class: format!("c{}", i % 3),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = cpu;
    n.node_resources.memory.memory_mb = mem;
    n.node_resources.disk.disk_mb = 100_000;
    let rack = format!("r{}", i % 40);
    n.attributes.insert("rack".into(), rack.clone());
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.meta.insert("rack".into(), rack);
    for d in ["raw_exec", "exec"] {
        n.drivers.insert(
            d.into(),
            DriverInfo {
                detected: true,
                healthy: true,
                ..DriverInfo::default()
            },
        );
        n.attributes.insert(format!("driver.{d}"), "1".into());
    }
    n.computed_class = orch_core::state::compute_class(&n);
    n
}

/// Job `j` of the c1m workload, with its count cut to `count`.
pub fn c1m_job(j: usize, count: u32) -> Job {
    let mut task = Task {
        name: "work".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    task.config.0.insert("command".into(), "/bin/true".into());
    task.resources.cpu = [10, 25, 50, 100][j % 4];
    task.resources.memory_mb = [16, 32, 64, 128, 256][j % 5];
    let mut job = Job {
        id: format!("c1m-{j}"),
        name: format!("c1m-{j}"),
        job_type: if j % 5 == 4 {
            job_type::BATCH
        } else {
            job_type::SERVICE
        }
        .into(),
        priority: 50,
        datacenters: vec!["*".into()],
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![task],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    if j.is_multiple_of(7) {
        job.spreads.push(Spread {
            attribute: "${node.datacenter}".into(),
            ..Spread::default()
        });
    }
    if j.is_multiple_of(11) {
        job.constraints
            .push(Constraint::new("${meta.rack}", "!=", "r0"));
    }
    job
}

/// The count of job `j` before the final cut.
pub fn c1m_count(j: usize) -> u32 {
    10 + ((j * 37) % 991) as u32
}

/// The jobs whose counts add up to exactly `allocs`.
pub fn c1m_jobs(allocs: u64) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut left = allocs;
    let mut j = 0;
    while left > 0 {
        let count = u64::from(c1m_count(j)).min(left);
        jobs.push(c1m_job(j, count as u32));
        left -= count;
        j += 1;
    }
    jobs
}

#[cfg(test)]
mod tests;
