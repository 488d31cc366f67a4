//! The autoscaler through the simulation harness: the servers' own decisions
//! (`orch_core::leader::autoscaler`) on virtual time, the metric handed in by the test
//! in place of Prometheus, each change a `Job.Scale` the scheduler then places.

mod common;

use std::collections::BTreeMap;

use orch_core::leader::autoscaler::Wait;
use orch_core::sim::Cluster;

const HCL: &str = r#"
job "q" {
  datacenters = ["dc1"]
  group "w" {
    count = 2
    scaling {
      min = 1
      max = 5
      policy {
        cooldown = "60s"
        evaluation_interval = "10s"
        check "depth" {
          source = "prometheus"
          query  = "scalar(depth)"
          strategy "target-value" {
            target = 10
          }
        }
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
"#;

fn running(c: &Cluster) -> usize {
    c.state
        .allocs_by_job("default", "q")
        .iter()
        .filter(|a| !a.terminal())
        .count()
}

const SECOND: i64 = 1_000_000_000;

/// Schedules, starts and reports healthy every allocation, so the job's deployment
/// completes.
fn settle(c: &mut Cluster) {
    c.run_to_quiescence().unwrap();
    c.start_pending_allocs().unwrap();
    let ids: Vec<String> = c
        .state
        .allocs_by_job("default", "q")
        .iter()
        .filter(|a| !a.terminal())
        .map(|a| a.id.clone())
        .collect();
    c.set_health(&ids, true).unwrap();
    c.run_to_quiescence().unwrap();
}

#[test]
fn the_servers_autoscaler_scales_out_waits_out_its_cooldown_and_scales_in() {
    let mut c = Cluster::new(3);
    for i in 0..3 {
        c.add_node(common::linux_node(i)).unwrap();
    }
    let job = orch_core::jobspec::parse_jobspec("q.hcl", HCL, &BTreeMap::new()).unwrap();
    c.submit_job(job).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(running(&c), 2);
    // The registration's deployment runs: Job.Scale would be refused, so it waits.
    let out = c.autoscale(&mut |_, _| Ok(30.0)).unwrap();
    assert!(
        matches!(out[0].wait, Some(Wait::Deploying { .. })),
        "{out:?}"
    );
    settle(&mut c);
    c.advance(10 * SECOND);

    // 2 allocations at depth 30 against a target of 10: 6, capped at max 5.
    let mut queries = Vec::new();
    let out = c
        .autoscale(&mut |_, check| {
            queries.push(check.query.clone());
            Ok(30.0)
        })
        .unwrap();
    assert_eq!(queries, ["scalar(depth)"]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].scaled_to, Some(5), "{out:?}");
    settle(&mut c);
    assert_eq!(running(&c), 5);
    let events = c.state.scaling_events("default", "q").unwrap();
    assert_eq!(events["w"][0].count, Some(5));

    // Not due again before its evaluation interval.
    assert!(c.autoscale(&mut |_, _| Ok(1.0)).unwrap().is_empty());

    // Due, but within the 60 s cooldown of the scaling event.
    c.advance(11 * SECOND);
    let out = c.autoscale(&mut |_, _| Ok(1.0)).unwrap();
    assert!(
        matches!(out[0].wait, Some(Wait::Cooldown { .. })),
        "{out:?}"
    );
    assert_eq!(running(&c), 5);

    // Past the cooldown: 5 at depth 2 against 10 is 1.
    c.advance(60 * SECOND);
    let out = c.autoscale(&mut |_, _| Ok(2.0)).unwrap();
    assert_eq!(out[0].scaled_to, Some(1), "{out:?}");
    settle(&mut c);
    assert_eq!(running(&c), 1);
    assert_eq!(c.state.job("default", "q").unwrap().task_groups[0].count, 1);
}

#[test]
fn a_failing_source_scales_nothing_and_says_why() {
    let mut c = Cluster::new(4);
    c.add_node(common::linux_node(0)).unwrap();
    let job = orch_core::jobspec::parse_jobspec("q.hcl", HCL, &BTreeMap::new()).unwrap();
    c.submit_job(job).unwrap();
    settle(&mut c);
    let out = c
        .autoscale(&mut |_, _| Err("prometheus unreachable".into()))
        .unwrap();
    let d = out[0].decision.as_ref().unwrap();
    assert_eq!(out[0].scaled_to, None);
    assert!(
        d.error
            .as_deref()
            .is_some_and(|e| e.contains("prometheus unreachable")),
        "{d:?}"
    );
    assert_eq!(running(&c), 2);
}
