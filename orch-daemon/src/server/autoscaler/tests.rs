//! The autoscaler against a state and a stand-in Prometheus: the cooldown comes from the
//! replicated scaling events (what a newly elected leader sees), and actions are
//! `JobScale`s with events.

use std::collections::BTreeMap;
use std::sync::Arc;

use orch_core::autoscale;
use orch_core::model::FreeForm;
use orch_core::state::{Command, JobRegister, JobScale, StateStore};

use super::*;
use crate::server::LocalReplicator;

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
    }
  }
}
"#;

/// A Prometheus stand-in answering every query with `value`; returns its base URL.
async fn fake_prometheus(value: &'static str) -> String {
    let app = axum::Router::new()
        .route(
            "/api/v1/query",
            axum::routing::get(move || async move {
                axum::Json(json!({"status": "success",
                                  "data": {"resultType": "scalar", "result": [0, value]}}))
            }),
        )
        .route(
            "/api/v1/query_range",
            axum::routing::get(
                move |q: axum::extract::Query<BTreeMap<String, String>>| async move {
                    // A range query must say its window; answer with the latest point last.
                    assert!(q.0.contains_key("start") && q.0.contains_key("step"));
                    axum::Json(json!({"status": "success", "data": {"resultType": "matrix",
                        "result": [{"metric": {}, "values": [[0, "1"], [1, value]]}]}}))
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A state with the job and one earlier scaling action `ago_s` seconds ago.
async fn setup(ago_s: i64, prometheus: String) -> (StateHandle, Arc<Autoscaler>) {
    setup_with(HCL, ago_s, prometheus).await
}

async fn setup_with(hcl: &str, ago_s: i64, prometheus: String) -> (StateHandle, Arc<Autoscaler>) {
    let state = StateHandle::new(StateStore::new());
    let repl: Arc<dyn Replicator> = Arc::new(LocalReplicator::new(state.clone(), "local"));
    let job = orch_core::jobspec::parse_jobspec("q.hcl", hcl, &BTreeMap::new()).unwrap();
    let now = now_nanos();
    repl.propose(Command::JobRegister(JobRegister {
        job,
        eval: None,
        enforce_index: None,
        preserve_counts: false,
        now,
    }))
    .await
    .unwrap();
    repl.propose(Command::JobScale(JobScale {
        namespace: "default".into(),
        job_id: "q".into(),
        group: "w".into(),
        count: 2,
        message: "previous leader".into(),
        error: false,
        meta: FreeForm::default(),
        eval: None,
        now: now - ago_s * 1_000_000_000,
    }))
    .await
    .unwrap();
    let a = Arc::new(Autoscaler::new(
        state.clone(),
        repl,
        AutoscalerConfig {
            prometheus_address: Some(prometheus),
            ..AutoscalerConfig::default()
        },
    ));
    (state, a)
}

fn count(state: &StateHandle) -> u32 {
    state.read().job("default", "q").unwrap().task_groups[0].count
}

#[tokio::test]
async fn a_new_leader_keeps_the_cooldown_of_replicated_events() {
    let (state, a) = setup(5, fake_prometheus("30").await).await;
    for p in a.enabled_policies() {
        a.evaluate(&p).await;
    }
    assert_eq!(count(&state), 2);
    let id = autoscale::policy_id("default", "q", "w");
    let st = a.status(&id).unwrap();
    assert_eq!(st.state, "cooldown", "{st:?}");
}

#[tokio::test]
async fn after_the_cooldown_it_scales_with_an_event() {
    let (state, a) = setup(120, fake_prometheus("30").await).await;
    for p in a.enabled_policies() {
        a.evaluate(&p).await;
    }
    // factor 3 on count 2 is 6, capped at max 5.
    assert_eq!(count(&state), 5);
    let ev = state.read().scaling_events("default", "q").unwrap()["w"][0].clone();
    assert_eq!((ev.count, ev.previous_count), (Some(5), 2));
    assert!(
        ev.message
            .starts_with("scaling up because factor is 3.000000"),
        "{}",
        ev.message
    );
    assert!(ev.message.contains("capped to 5"), "{}", ev.message);
    assert!(ev.eval_id.is_some());
    // Right after its own action it is in cooldown too.
    for p in a.enabled_policies() {
        a.evaluate(&p).await;
    }
    assert_eq!(count(&state), 5);
}

#[tokio::test]
async fn a_dead_source_means_no_action_and_a_status_saying_why() {
    // Nothing listens on port 9 of loopback.
    let (state, a) = setup(120, "http://127.0.0.1:9".into()).await;
    for p in a.enabled_policies() {
        a.evaluate(&p).await;
    }
    assert_eq!(count(&state), 2);
    let st = a
        .status(&autoscale::policy_id("default", "q", "w"))
        .unwrap();
    assert_eq!(st.state, "error");
    assert!(st.last_error.unwrap().contains("unreachable"));
    assert_eq!(st.errors_total, 1);
}

#[tokio::test]
async fn disabled_and_bounds_only_policies_are_left_alone() {
    let (state, a) = setup(120, fake_prometheus("30").await).await;
    let mut job = state.read().job("default", "q").unwrap().clone();
    if let Some(sc) = job.task_groups[0].scaling.as_mut() {
        sc.enabled = false;
    }
    let repl = LocalReplicator::new(state.clone(), "local");
    repl.propose(Command::JobRegister(JobRegister {
        job: job.clone(),
        eval: None,
        enforce_index: None,
        preserve_counts: false,
        now: now_nanos(),
    }))
    .await
    .unwrap();
    assert!(a.enabled_policies().is_empty());
    if let Some(sc) = job.task_groups[0].scaling.as_mut() {
        sc.enabled = true;
        sc.policy = FreeForm::default();
    }
    repl.propose(Command::JobRegister(JobRegister {
        job,
        eval: None,
        enforce_index: None,
        preserve_counts: false,
        now: now_nanos(),
    }))
    .await
    .unwrap();
    assert!(a.enabled_policies().is_empty());
}

#[tokio::test]
async fn query_window_reads_the_latest_point_of_a_range_query() {
    let hcl = HCL.replace(
        "query  = \"scalar(depth)\"",
        "query  = \"depth\"\n          query_window = \"1m\"",
    );
    let (state, a) = setup_with(&hcl, 120, fake_prometheus("20").await).await;
    for p in a.enabled_policies() {
        a.evaluate(&p).await;
    }
    // factor 2 on count 2.
    assert_eq!(count(&state), 4);
}
