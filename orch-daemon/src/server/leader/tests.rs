use super::*;
use crate::server::LocalReplicator;
use orch_core::model::{DriverInfo, Job, Node, Task, TaskGroup, eval_status, node_status, trigger};
use orch_core::state::{JobRegister, NodeRegister};

fn node(i: usize) -> Node {
    let mut n = Node {
        id: format!("node-{i}"),
        name: format!("n{i}"),
        status: node_status::READY.into(),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = 4000;
    n.node_resources.memory.memory_mb = 4096;
    n.node_resources.disk.disk_mb = 10_000;
    n.drivers.insert(
        "raw_exec".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..DriverInfo::default()
        },
    );
    n.computed_class = orch_core::state::compute_class(&n);
    n
}

fn job(id: &str, count: u32, cpu: u64) -> Job {
    let mut t = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    t.resources.cpu = cpu;
    t.resources.memory_mb = 64;
    let mut j = Job {
        id: id.into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![t],
            ..TaskGroup::default()
        }],
        ..Job::default()
    };
    orch_core::canonical::canonicalize_job(&mut j);
    j
}

fn register(j: Job) -> Command {
    let eval = Evaluation {
        id: new_uuid(),
        namespace: j.namespace.clone(),
        priority: j.priority,
        eval_type: j.job_type.clone(),
        triggered_by: trigger::JOB_REGISTER.into(),
        job_id: j.id.clone(),
        status: eval_status::PENDING.into(),
        ..Evaluation::default()
    };
    Command::JobRegister(JobRegister {
        job: j,
        eval: Some(eval),
        enforce_index: None,
        preserve_counts: false,
        now: now_nanos(),
    })
}

async fn wait_for(
    state: &StateHandle,
    what: &str,
    f: impl Fn(&orch_core::state::StateStore) -> bool,
) {
    for _ in 0..200 {
        if f(&state.read()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn the_leaders_heartbeat_ttls_follow_its_configuration() {
    let state = StateHandle::default();
    let repl: Arc<dyn Replicator> = Arc::new(LocalReplicator::new(state.clone(), "x"));
    let leader = Leader::new(state, repl, LeaderConfig::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let default_min = LeaderConfig::default().heartbeat_ttl;
    rt.block_on(async {
        for i in 0..20 {
            let ttl = leader.heartbeat(&format!("n{i}"));
            assert!(ttl >= default_min && ttl < 2 * default_min, "{ttl:?}");
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_jobs_are_scheduled_and_blocked_work_waits_for_capacity() {
    let state = StateHandle::default();
    let repl: Arc<dyn Replicator> = Arc::new(LocalReplicator::new(state.clone(), "127.0.0.1:0"));
    let leader = Leader::new(
        state.clone(),
        Arc::clone(&repl),
        LeaderConfig {
            workers: 2,
            ..LeaderConfig::default()
        },
    );
    leader.start().await;
    repl.propose(Command::NodeRegister(NodeRegister {
        node: node(1),
        now: now_nanos(),
    }))
    .await
    .unwrap();
    repl.propose(register(job("web", 3, 500))).await.unwrap();
    wait_for(&state, "3 allocations", |s| {
        s.allocs_by_job("default", "web").len() == 3
    })
    .await;
    // 4000 MHz: 6 of 1000 fit... only 4; the rest blocks until a second node joins.
    repl.propose(register(job("big", 3, 1000))).await.unwrap();
    wait_for(&state, "a blocked eval", |s| {
        s.evals().any(|e| e.status == eval_status::BLOCKED)
    })
    .await;
    assert_eq!(state.read().allocs_by_job("default", "big").len(), 2);
    repl.propose(Command::NodeRegister(NodeRegister {
        node: node(2),
        now: now_nanos(),
    }))
    .await
    .unwrap();
    wait_for(&state, "big fully placed", |s| {
        s.allocs_by_job("default", "big").len() == 3
    })
    .await;
}
