//! End-to-end scheduling through the simulation harness: broker → scheduler → plan
//! verification → state, with node failures, drains, blocked evaluations and system jobs.

use orch_core::model::{Constraint, DriverInfo, Job, Node, Task, TaskGroup, job_type};
use orch_core::sim::Cluster;

fn node(i: usize, cpu: u64, mem: u64) -> Node {
    let mut n = Node {
        id: format!("node-{i:03}"),
        name: format!("host{i}"),
        datacenter: format!("dc{}", i % 2 + 1),
        ..Node::default()
    };
    n.node_resources.cpu.cpu_shares = cpu;
    n.node_resources.memory.memory_mb = mem;
    n.node_resources.disk.disk_mb = 50_000;
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.attributes.insert("rack".into(), format!("r{}", i % 3));
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

fn job(id: &str, jtype: &str, count: u32, cpu: u64, mem: u64) -> Job {
    let mut t = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    t.resources.cpu = cpu;
    t.resources.memory_mb = mem;
    Job {
        id: id.into(),
        job_type: jtype.into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![t],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn cluster(nodes: usize) -> Cluster {
    let mut c = Cluster::new(7);
    for i in 0..nodes {
        c.add_node(node(i, 4000, 8192)).unwrap();
    }
    c
}

fn live(c: &Cluster, id: &str) -> Vec<orch_core::model::Allocation> {
    c.state
        .allocs_by_job("default", id)
        .into_iter()
        .filter(|a| !a.terminal())
        .cloned()
        .collect()
}

#[test]
fn service_job_is_placed_with_unique_names_and_constraints_hold() {
    let mut c = cluster(6);
    let mut j = job("web", job_type::SERVICE, 8, 500, 256);
    j.constraints
        .push(Constraint::new("${attr.rack}", "!=", "r0"));
    c.submit_job(j).unwrap();
    c.run_to_quiescence().unwrap();
    let allocs = live(&c, "web");
    assert_eq!(allocs.len(), 8);
    let names: std::collections::BTreeSet<_> = allocs.iter().map(|a| a.name.clone()).collect();
    assert_eq!(names.len(), 8);
    for a in &allocs {
        let n = c.state.node(&a.node_id).unwrap();
        assert_ne!(
            n.attributes["rack"], "r0",
            "constraint violated on {}",
            n.id
        );
    }
    assert_eq!(c.state.job("default", "web").unwrap().status, "running");
}

#[test]
fn lost_allocations_are_replaced_and_drains_migrate() {
    let mut c = cluster(4);
    c.submit_job(job("web", job_type::SERVICE, 6, 500, 256))
        .unwrap();
    c.run_to_quiescence().unwrap();
    let victim = live(&c, "web")[0].node_id.clone();
    c.fail_node(&victim).unwrap();
    c.run_to_quiescence().unwrap();
    let allocs = live(&c, "web");
    assert_eq!(allocs.len(), 6);
    assert!(allocs.iter().all(|a| a.node_id != victim));
    let drained = allocs[0].node_id.clone();
    c.drain_node(&drained).unwrap();
    c.run_to_quiescence().unwrap();
    let allocs = live(&c, "web");
    assert_eq!(allocs.len(), 6);
    assert!(
        allocs
            .iter()
            .all(|a| a.node_id != drained && a.node_id != victim)
    );
}

#[test]
fn blocked_evaluation_is_released_by_new_capacity() {
    let mut c = cluster(1);
    c.submit_job(job("big", job_type::SERVICE, 3, 3000, 1024))
        .unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "big").len(), 1);
    assert_eq!(c.unplaced("default", "big").get("g"), Some(&2));
    let why = c.failures("default", "big");
    assert_eq!(why["g"].dimension_exhausted.get("cpu"), Some(&1), "{why:?}");
    c.add_node(node(10, 8000, 8192)).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "big").len(), 3);
    assert!(c.unplaced("default", "big").is_empty());
}

#[test]
fn system_jobs_run_everywhere_and_follow_new_nodes() {
    let mut c = cluster(3);
    c.submit_job(job("agent", job_type::SYSTEM, 1, 100, 64))
        .unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "agent").len(), 3);
    c.add_node(node(20, 4000, 8192)).unwrap();
    c.run_to_quiescence().unwrap();
    let allocs = live(&c, "agent");
    assert_eq!(allocs.len(), 4);
    assert!(allocs.iter().any(|a| a.node_id == "node-020"));
}

#[test]
fn system_job_preempts_lower_priority_batch_work() {
    let mut c = cluster(1);
    let mut filler = job("filler", job_type::BATCH, 4, 1000, 2048);
    filler.priority = 20;
    c.submit_job(filler).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "filler").len(), 4);
    let mut sys = job("agent", job_type::SYSTEM, 1, 500, 256);
    sys.priority = 90;
    c.submit_job(sys).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "agent").len(), 1);
    assert_eq!(
        live(&c, "filler").len(),
        3,
        "exactly one batch allocation evicted"
    );
    // The preempted job got an evaluation to replace what it lost (Nomad's
    // `PreemptionEvals`); with no room left, it waits blocked.
    let follow_ups: Vec<_> = c
        .state
        .evals()
        .filter(|e| e.job_id == "filler" && e.triggered_by == "preemption")
        .collect();
    assert_eq!(follow_ups.len(), 1, "{follow_ups:?}");
    assert!(
        c.state
            .evals()
            .any(|e| e.job_id == "filler" && e.status == "blocked"),
        "the replacement waits for room"
    );
}

#[test]
fn stopping_a_job_stops_its_allocations() {
    let mut c = cluster(2);
    c.submit_job(job("web", job_type::SERVICE, 3, 100, 64))
        .unwrap();
    c.run_to_quiescence().unwrap();
    c.stop_job("default", "web", false).unwrap();
    c.run_to_quiescence().unwrap();
    assert!(live(&c, "web").is_empty());
}

#[test]
fn same_seed_gives_byte_identical_state() {
    let run = || {
        let mut c = cluster(5);
        for k in 0..4 {
            c.submit_job(job(&format!("j{k}"), job_type::SERVICE, 5 + k, 300, 200))
                .unwrap();
        }
        c.run_to_quiescence().unwrap();
        c.fail_node("node-001").unwrap();
        c.run_to_quiescence().unwrap();
        c.state.snapshot().unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn how_many_more_fit_answers_without_changing_the_cluster() {
    let c = cluster(2);
    let before = c.state.snapshot().unwrap();
    let fit = c
        .how_many_fit(&job("probe", job_type::SERVICE, 1, 1000, 1024), 100)
        .unwrap();
    assert_eq!(fit.fits, 8); // 4000 MHz per node / 1000 each, two nodes
    assert_eq!(fit.by_node.len(), 2);
    assert!(
        fit.limit
            .is_some_and(|m| m.dimension_exhausted.contains_key("cpu"))
    );
    assert_eq!(c.state.snapshot().unwrap(), before);
}

#[test]
fn failed_service_allocation_is_rescheduled_after_its_delay() {
    let mut c = cluster(3);
    // No rolling-update deployment: failed allocations of an active deployment are the
    // deployment watcher's to judge, not the reschedule policy's (as in Nomad).
    let mut j = job("web", job_type::SERVICE, 2, 100, 64);
    j.update = Some(orch_core::model::UpdateStrategy {
        max_parallel: 0,
        ..orch_core::canonical::defaults::update_strategy()
    });
    c.submit_job(j).unwrap();
    c.run_to_quiescence().unwrap();
    let failed = live(&c, "web")[0].clone();
    c.client_update(std::slice::from_ref(&failed.id), "failed")
        .unwrap();
    // The alloc-failure evaluation the servers would create on a client update.
    let mut e = orch_core::model::Evaluation {
        id: c.new_id(),
        namespace: "default".into(),
        priority: 50,
        eval_type: "service".into(),
        triggered_by: "alloc-failure".into(),
        job_id: "web".into(),
        status: "pending".into(),
        ..Default::default()
    };
    e.create_time = c.now;
    c.state
        .apply(
            c.state.latest_index() + 1,
            orch_core::state::Command::EvalUpsert(orch_core::state::EvalUpsert {
                evals: vec![e.clone()],
            }),
        )
        .unwrap();
    // Written pending: the leader's feeder queues it.
    c.run_to_quiescence().unwrap();
    // Service default: exponential from 30s, so nothing yet, but a follow-up is scheduled.
    assert_eq!(live(&c, "web").len(), 1);
    c.advance(31_000_000_000);
    c.run_to_quiescence().unwrap();
    let allocs = live(&c, "web");
    assert_eq!(allocs.len(), 2);
    let replacement = allocs
        .iter()
        .find(|a| a.previous_allocation == failed.id)
        .expect("replacement links to the failed alloc");
    assert_eq!(replacement.name, failed.name, "the index is reused");
    assert_eq!(
        replacement
            .reschedule_tracker
            .as_ref()
            .map(|t| t.events.len()),
        Some(1)
    );
}

#[test]
fn a_plan_is_byte_identical_for_the_same_state_eval_and_seed() {
    let mut c = cluster(8);
    let mut j = job("web", job_type::SERVICE, 12, 300, 128);
    j.spreads.push(orch_core::model::Spread {
        attribute: "${node.datacenter}".into(),
        ..Default::default()
    });
    let id = c.submit_job(j).unwrap();
    let eval = c.state.eval(&id).unwrap().clone();
    let run = || {
        let mut n = 0;
        let mut ids = || {
            n += 1;
            format!("id-{n}")
        };
        orch_core::scheduler::process_eval(&c.state, &eval, &c.config, 99, c.now, &mut ids)
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(a.plan.placed(), 12);
}

#[test]
fn a_silent_node_is_disconnected_when_its_groups_may_wait_and_down_otherwise() {
    use orch_core::model::{DisconnectStrategy, client_status, node_status};
    let mut c = cluster(3);
    let mut waits = job("waits", job_type::SERVICE, 1, 500, 256);
    waits.task_groups[0].disconnect = Some(DisconnectStrategy {
        lost_after: 60_000_000_000,
        ..DisconnectStrategy::default()
    });
    c.submit_job(waits).unwrap();
    c.run_to_quiescence().unwrap();
    // Only running allocations wait as `unknown` (a pending one is lost), as in Nomad.
    c.start_pending_allocs().unwrap();
    let original = live(&c, "waits")[0].clone();
    let status = c.miss_heartbeat(&original.node_id).unwrap();
    assert_eq!(status, node_status::DISCONNECTED);
    c.run_to_quiescence().unwrap();
    let after = c.state.alloc(&original.id).unwrap();
    assert_eq!(after.client_status, client_status::UNKNOWN);
    let replacement: Vec<_> = live(&c, "waits")
        .into_iter()
        .filter(|a| a.id != original.id)
        .collect();
    assert_eq!(
        replacement.len(),
        1,
        "a replacement runs elsewhere meanwhile"
    );
    assert_ne!(replacement[0].node_id, original.node_id);

    // Without a disconnect block the node is down and its allocation lost.
    let mut c = cluster(3);
    c.submit_job(job("plain", job_type::SERVICE, 1, 500, 256))
        .unwrap();
    c.run_to_quiescence().unwrap();
    c.start_pending_allocs().unwrap();
    let original = live(&c, "plain")[0].clone();
    assert_eq!(
        c.miss_heartbeat(&original.node_id).unwrap(),
        node_status::DOWN
    );
    c.run_to_quiescence().unwrap();
    assert_eq!(
        c.state.alloc(&original.id).unwrap().client_status,
        client_status::LOST
    );
}

#[test]
fn a_silent_client_is_marked_down_by_the_leaders_timer_and_its_work_moves() {
    use orch_core::leader::HeartbeatConfig;
    use orch_core::model::node_status;
    let mut c = cluster(3);
    c.submit_job(job("web", job_type::SERVICE, 1, 500, 256))
        .unwrap();
    c.run_to_quiescence().unwrap();
    let first = live(&c, "web")[0].clone();
    c.stop_heartbeats(&first.node_id).unwrap();
    // Within the TTL nothing happens; live clients are never timed.
    c.advance(1_000_000_000);
    c.run_to_quiescence().unwrap();
    assert_eq!(
        c.state.node(&first.node_id).map(|n| n.status.clone()),
        Some(node_status::READY.to_string())
    );
    // Past twice the TTL (the stagger's most) plus the grace, the timer has run out.
    let d = HeartbeatConfig::default();
    c.advance(i64::try_from((2 * d.min_ttl + d.grace).as_nanos()).unwrap());
    c.run_to_quiescence().unwrap();
    assert_eq!(
        c.state.node(&first.node_id).map(|n| n.status.clone()),
        Some(node_status::DOWN.to_string())
    );
    let now = live(&c, "web");
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].node_id, first.node_id, "replaced on another node");
    for other in c.state.nodes().filter(|n| n.id != first.node_id) {
        assert_eq!(
            other.status,
            node_status::READY,
            "{} kept heartbeating",
            other.id
        );
    }
    // The client comes back: ready again, and timed no more.
    c.resume_heartbeats(&first.node_id).unwrap();
    c.advance(3_600_000_000_000);
    c.run_to_quiescence().unwrap();
    assert_eq!(
        c.state.node(&first.node_id).map(|n| n.status.clone()),
        Some(node_status::READY.to_string())
    );
}

#[test]
fn a_stopped_jobs_blocked_evaluation_is_canceled_by_the_feeder() {
    let mut c = cluster(1);
    // 4000 MHz: 3 of 1500 do not fit; one waits blocked.
    c.submit_job(job("big", job_type::SERVICE, 3, 1500, 256))
        .unwrap();
    c.run_to_quiescence().unwrap();
    assert!(c.blocked.blocked_by_job("default", "big").is_some());
    c.stop_job("default", "big", false).unwrap();
    c.run_to_quiescence().unwrap();
    assert!(c.blocked.blocked_by_job("default", "big").is_none());
    let canceled = c
        .state
        .evals()
        .filter(|e| e.job_id == "big" && e.status == "canceled")
        .count();
    assert_eq!(canceled, 1, "the blocked evaluation is written canceled");
    assert!(live(&c, "big").is_empty());
}

#[test]
fn the_drainer_moves_allocations_at_the_groups_migrate_pace() {
    use orch_core::model::{DrainStrategy, MigrateStrategy};
    let mut c = cluster(1);
    let mut j = job("web", job_type::SERVICE, 3, 500, 256);
    j.task_groups[0].migrate = Some(MigrateStrategy {
        max_parallel: 1,
        health_check: "checks".into(),
        min_healthy_time: 0,
        healthy_deadline: 300_000_000_000,
    });
    c.submit_job(j).unwrap();
    c.run_to_quiescence().unwrap();
    c.start_pending_allocs().unwrap();
    // All three share the one node; a second comes to take them.
    let drained = live(&c, "web")[0].node_id.clone();
    assert!(live(&c, "web").iter().all(|a| a.node_id == drained));
    c.add_node(node(1, 4000, 8192)).unwrap();
    // Healthy, as their clients report them (the drainer keeps the group's count).
    let ids: Vec<String> = live(&c, "web").iter().map(|a| a.id.clone()).collect();
    c.set_health(&ids, true).unwrap();
    let strategy = DrainStrategy {
        deadline: 3_600_000_000_000,
        ..DrainStrategy::default()
    };
    c.drain_node_with(&drained, strategy).unwrap();
    c.run_to_quiescence().unwrap();
    let moved = |c: &orch_core::sim::Cluster| {
        live(c, "web")
            .iter()
            .filter(|a| a.node_id != drained)
            .count()
    };
    assert_eq!(moved(&c), 1, "one at a time (max_parallel 1)");
    // Each replacement healthy lets the next one go.
    for want in 2..=3 {
        let fresh: Vec<String> = live(&c, "web")
            .iter()
            .filter(|a| a.node_id != drained)
            .map(|a| a.id.clone())
            .collect();
        c.start_pending_allocs().unwrap();
        c.set_health(&fresh, true).unwrap();
        c.run_to_quiescence().unwrap();
        assert_eq!(moved(&c), want);
    }
}

#[test]
fn the_periodic_dispatcher_launches_children_as_virtual_time_passes() {
    use orch_core::model::PeriodicConfig;
    let mut c = cluster(2);
    let mut j = job("report", job_type::BATCH, 1, 100, 64);
    j.periodic = Some(PeriodicConfig {
        enabled: true,
        spec: "*/5 * * * *".into(),
        spec_type: "cron".into(),
        ..PeriodicConfig::default()
    });
    assert_eq!(
        c.submit_job(j).unwrap(),
        "",
        "a periodic parent gets no evaluation"
    );
    c.run_to_quiescence().unwrap();
    let children =
        |c: &orch_core::sim::Cluster| c.state.jobs().filter(|j| j.parent_id == "report").count();
    assert_eq!(children(&c), 0);
    c.advance(5 * 60 * 1_000_000_000);
    c.run_to_quiescence().unwrap();
    assert_eq!(children(&c), 1);
    let child = c.state.jobs().find(|j| j.parent_id == "report").unwrap();
    let placed = c.state.allocs_by_job("default", &child.id).len();
    assert_eq!(placed, 1, "the child is scheduled like any job");
    c.advance(5 * 60 * 1_000_000_000);
    c.run_to_quiescence().unwrap();
    assert_eq!(children(&c), 2);
}
