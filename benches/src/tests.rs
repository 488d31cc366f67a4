use super::*;

#[test]
fn counts_add_up_exactly() {
    let jobs = c1m_jobs(10_000);
    assert_eq!(
        jobs.iter()
            .map(|j| u64::from(j.task_groups[0].count))
            .sum::<u64>(),
        10_000
    );
    assert_eq!(jobs[0].task_groups[0].count, 10);
    assert_eq!(jobs[1].task_groups[0].count, 47);
    assert!(jobs[0].spreads.len() == 1 && jobs[0].constraints.len() == 1);
    assert_eq!(jobs[4].job_type, "batch");
    assert_eq!(c1m_node(2).node_resources.cpu.cpu_shares, 16_000);
}
