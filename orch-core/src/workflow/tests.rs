//! Job dependencies and ordered groups through the simulated cluster: what the
//! scheduler holds, why the evaluation says it waits, and what releases it.

use super::job_deps::{self, check_cycles};
use crate::model::{Job, JobDependency, Task, TaskGroup, client_status, job_type};
use crate::sim::Cluster;

pub(super) fn job(id: &str, count: u32) -> Job {
    let mut t = Task {
        name: "t".into(),
        driver: "raw_exec".into(),
        ..Task::default()
    };
    t.resources.cpu = 100;
    t.resources.memory_mb = 64;
    Job {
        id: id.into(),
        name: id.into(),
        datacenters: vec!["dc1".into()],
        job_type: job_type::SERVICE.into(),
        task_groups: vec![TaskGroup {
            name: "g".into(),
            count,
            tasks: vec![t],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn dep(job: &str, condition: &str) -> JobDependency {
    JobDependency {
        job: job.into(),
        condition: condition.into(),
    }
}

fn cluster() -> Cluster {
    let mut c = Cluster::new(7);
    for i in 0..3 {
        c.add_node(crate::state::testutil::schedulable_node(i))
            .unwrap();
    }
    c
}

fn live(c: &Cluster, id: &str) -> Vec<String> {
    let mut ids: Vec<String> = c
        .state
        .allocs_by_job("default", id)
        .iter()
        .filter(|a| !a.terminal())
        .map(|a| a.id.clone())
        .collect();
    ids.sort();
    ids
}

fn blocked_reason(c: &Cluster, id: &str) -> Option<String> {
    c.blocked
        .blocked_by_job("default", id)
        .map(|e| format!("{}: {}", e.triggered_by, e.status_description))
}

#[test]
fn a_job_waits_for_its_dependency_to_run_then_is_placed() {
    let mut c = cluster();
    let mut web = job("web", 2);
    web.depends_on = vec![dep("db", "")];
    c.submit_job(web).unwrap();
    c.run_to_quiescence().unwrap();
    assert!(live(&c, "web").is_empty());
    assert_eq!(
        blocked_reason(&c, "web").as_deref(),
        Some(
            "job-dependency: group \"g\": waiting for job \"db\" to be running: it is not registered"
        )
    );
    c.submit_job(job("db", 1)).unwrap();
    c.run_to_quiescence().unwrap();
    assert!(live(&c, "web").is_empty(), "db is only pending");
    // The blocked evaluation keeps the reason it was blocked with; the live one (what
    // the job summary shows) follows the dependency.
    let web = c.state.job("default", "web").unwrap();
    let held = job_deps::held_groups(&c.state, web, &[]);
    assert_eq!(
        held["g"],
        "waiting for job \"db\" to be running: group \"g\" has 0 of 1"
    );
    c.start_pending_allocs().unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "web").len(), 2);
    assert!(c.blocked.blocked_by_job("default", "web").is_none());
    // The job summary's queued count came from the waiting evaluation.
    let latest = c.state.evals().filter(|e| e.job_id == "web").count();
    assert!(latest >= 2);
}

#[test]
fn healthy_waits_for_deployment_health_and_only_the_gated_group_waits() {
    let mut c = cluster();
    c.submit_job(job("db", 1)).unwrap();
    let mut app = job("app", 1);
    let mut free = app.task_groups[0].clone();
    free.name = "free".into();
    app.task_groups[0].depends_on = vec![dep("db", "healthy")];
    app.task_groups.push(free);
    c.submit_job(app).unwrap();
    c.run_to_quiescence().unwrap();
    c.start_pending_allocs().unwrap();
    c.run_to_quiescence().unwrap();
    let groups = |c: &Cluster| -> Vec<String> {
        let mut g: Vec<String> = c
            .state
            .allocs_by_job("default", "app")
            .iter()
            .filter(|a| !a.terminal())
            .map(|a| a.task_group.to_string())
            .collect();
        g.sort();
        g
    };
    assert_eq!(
        groups(&c),
        vec!["free".to_string()],
        "running is not healthy"
    );
    let reason = blocked_reason(&c, "app").unwrap();
    assert!(
        reason.contains("to be healthy: group \"g\" has 0 of 1"),
        "{reason}"
    );
    let db = live(&c, "db");
    c.set_health(&db, true).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(groups(&c), vec!["free".to_string(), "g".to_string()]);
}

#[test]
fn complete_waits_for_a_batch_job_to_finish_and_refuses_a_failed_one() {
    let mut c = cluster();
    let mut migrate = job("migrate", 1);
    migrate.job_type = job_type::BATCH.into();
    c.submit_job(migrate).unwrap();
    let mut app = job("app", 1);
    app.depends_on = vec![dep("migrate", "complete")];
    c.submit_job(app).unwrap();
    c.run_to_quiescence().unwrap();
    c.start_pending_allocs().unwrap();
    c.run_to_quiescence().unwrap();
    assert!(live(&c, "app").is_empty(), "still running");
    c.complete_batch_allocs().unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "app").len(), 1);
}

#[test]
fn a_group_with_live_allocations_is_not_held_again() {
    let mut c = cluster();
    c.submit_job(job("db", 1)).unwrap();
    let mut app = job("app", 1);
    app.depends_on = vec![dep("db", "running")];
    c.submit_job(app.clone()).unwrap();
    c.run_to_quiescence().unwrap();
    c.start_pending_allocs().unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "app").len(), 1);
    // db goes away; app scales up all the same.
    c.stop_job("default", "db", false).unwrap();
    c.run_to_quiescence().unwrap();
    app.task_groups[0].count = 2;
    c.submit_job(app).unwrap();
    c.run_to_quiescence().unwrap();
    assert_eq!(live(&c, "app").len(), 2);
}

#[test]
fn release_is_false_for_jobs_without_dependencies() {
    let mut c = cluster();
    c.submit_job(job("plain", 1)).unwrap();
    let e = c.state.evals().next().cloned().unwrap();
    assert!(!job_deps::release(&c.state, &e));
    assert_eq!(
        c.state.allocs_by_job("default", "plain").len(),
        0,
        "not yet scheduled"
    );
    let _ = client_status::RUNNING;
}

#[test]
fn cycles_are_refused_with_the_path_of_the_closing_dependency() {
    let mut a = job("a", 1);
    let mut b = job("b", 1);
    let mut c = job("c", 1);
    b.depends_on = vec![dep("c", "running")];
    c.task_groups[0].depends_on = vec![dep("a", "healthy")];
    let check = |a: &Job, others: &[Job]| -> Result<(), job_deps::CycleError> {
        check_cycles(a, |id| others.iter().find(|j| j.id == id))
    };
    assert!(check(&a, &[b.clone(), c.clone()]).is_ok());
    a.task_groups[0].depends_on = vec![dep("x", "running"), dep("b", "running")];
    let err = check(&a, &[b.clone(), c.clone()]).unwrap_err();
    assert_eq!(err.path, "TaskGroups[0].DependsOn[1].Job");
    assert_eq!(err.cycle, "a -> b -> c -> a");
    assert_eq!(
        err.to_string(),
        "TaskGroups[0].DependsOn[1].Job: dependency cycle between jobs: a -> b -> c -> a"
    );
    // The new version of a job replaces its stored one: dropping the edge clears it.
    b.depends_on.clear();
    assert!(check(&a, &[b, c]).is_ok());
}

#[test]
fn bad_dependencies_are_refused_with_their_field_paths() {
    let text = r#"
job "web" {
  depends_on {
    job       = "db"
    condition = "ready"
  }
  depends_on { job = "web" }
  group "g" {
    depends_on { condition = "running" }
    update {
      ordered = true
      canary  = 1
    }
    task "t" {
      driver = "raw_exec"
      config { command = "true" }
    }
  }
}
"#;
    let err = crate::jobspec::parse_jobspec("web.hcl", text, &Default::default())
        .unwrap_err()
        .to_string();
    for want in [
        "DependsOn[0].Condition: job depends_on[0]: unknown condition \"ready\"; expected \"running\", \"healthy\" or \"complete\"",
        "DependsOn[1].Job: job depends_on[1]: a job cannot depend on itself",
        "TaskGroups[0].DependsOn[0].Job: group \"g\" depends_on[0]: missing job ID",
        "TaskGroups[0].Update.Ordered: group \"g\" update ordered: cannot be combined with canaries (canary = 1)",
    ] {
        assert!(err.contains(want), "{want:?} not in {err}");
    }
}

fn ordered_job(count: u32) -> Job {
    let mut j = job("sts", count);
    j.task_groups[0].update = Some(crate::model::UpdateStrategy {
        ordered: true,
        ..crate::canonical::defaults::update_strategy()
    });
    j
}

/// Live allocations of the job by index: (index, version, client status).
fn by_index(c: &Cluster, id: &str) -> Vec<(u32, u64, String)> {
    let mut v: Vec<(u32, u64, String)> = c
        .state
        .allocs_by_job("default", id)
        .iter()
        .filter(|a| !a.terminal())
        .map(|a| {
            (
                a.index().unwrap_or(99),
                a.job_version,
                a.client_status.to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn alloc_at(c: &Cluster, id: &str, index: u32, version: u64) -> String {
    c.state
        .allocs_by_job("default", id)
        .iter()
        .find(|a| !a.terminal() && a.index() == Some(index) && a.job_version == version)
        .map(|a| a.id.clone())
        .unwrap_or_default()
}

#[test]
fn an_ordered_group_starts_and_updates_in_index_order_and_stops_in_reverse() {
    let mut c = cluster();
    c.submit_job(ordered_job(3)).unwrap();
    c.run_to_quiescence().unwrap();
    for next in 0..3u32 {
        let placed: Vec<u32> = by_index(&c, "sts").iter().map(|a| a.0).collect();
        assert_eq!(
            placed,
            (0..=next).collect::<Vec<_>>(),
            "before {next} is healthy"
        );
        c.start_pending_allocs().unwrap();
        c.run_to_quiescence().unwrap();
        let placed = by_index(&c, "sts").len();
        assert_eq!(placed as u32, next + 1, "running is not healthy yet");
        let id = alloc_at(&c, "sts", next, 0);
        c.set_health(&[id], true).unwrap();
        c.run_to_quiescence().unwrap();
    }
    assert_eq!(by_index(&c, "sts").len(), 3);

    // A new version replaces index 0 first, then 1, then 2.
    let mut v1 = ordered_job(3);
    v1.task_groups[0].tasks[0]
        .env
        .insert("V".into(), "1".into());
    c.submit_job(v1).unwrap();
    c.run_to_quiescence().unwrap();
    for next in 0..3u32 {
        let new: Vec<u32> = by_index(&c, "sts")
            .iter()
            .filter(|a| a.1 == 1)
            .map(|a| a.0)
            .collect();
        assert_eq!(new, (0..=next).collect::<Vec<_>>(), "update order");
        c.start_pending_allocs().unwrap();
        let id = alloc_at(&c, "sts", next, 1);
        c.set_health(&[id], true).unwrap();
        c.run_to_quiescence().unwrap();
        // The replaced allocation ends on its client.
        let old: Vec<String> = c
            .state
            .allocs_by_job("default", "sts")
            .iter()
            .filter(|a| a.server_terminal() && !a.client_terminal())
            .map(|a| a.id.clone())
            .collect();
        c.client_update(&old, client_status::COMPLETE).unwrap();
        c.run_to_quiescence().unwrap();
    }

    // Each index kept its name through the ordered update, so a `per_alloc` volume
    // (`source[i]`, from the name) follows the index: every replacement claims the
    // volume its predecessor at that index had.
    for a in c.state.allocs_by_job("default", "sts") {
        let i = a.index().unwrap_or(99);
        let id = crate::model::csi::claimed_volume_id("data", true, &a.name);
        assert_eq!(
            id,
            format!("data[{i}]"),
            "{} at version {}",
            a.name,
            a.job_version
        );
    }

    // Stopping goes from the highest index down, one ended allocation at a time.
    c.stop_job("default", "sts", false).unwrap();
    c.run_to_quiescence().unwrap();
    for top in (0..3u32).rev() {
        let asked: Vec<u32> = c
            .state
            .allocs_by_job("default", "sts")
            .iter()
            .filter(|a| a.desired_status == "run")
            .map(|a| a.index().unwrap_or(99))
            .collect();
        let mut asked = asked;
        asked.sort();
        assert_eq!(
            asked,
            (0..top).collect::<Vec<_>>(),
            "index {top} stops first"
        );
        let id = c
            .state
            .allocs_by_job("default", "sts")
            .iter()
            .find(|a| a.index() == Some(top) && !a.client_terminal())
            .map(|a| a.id.clone())
            .unwrap_or_default();
        c.client_update(&[id], client_status::COMPLETE).unwrap();
        c.run_to_quiescence().unwrap();
    }
}
