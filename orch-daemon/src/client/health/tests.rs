use super::*;
use orch_core::model::{Task, TaskState, UpdateStrategy};

fn setup() -> (Allocation, TaskGroup) {
    let alloc = Allocation {
        deployment_id: "d1".into(),
        ..Allocation::default()
    };
    let group = TaskGroup {
        name: "g".into(),
        tasks: vec![Task {
            name: "web".into(),
            driver: "raw_exec".into(),
            ..Task::default()
        }],
        update: Some(UpdateStrategy {
            health_check: "task_states".into(),
            min_healthy_time: 1_000_000_000,
            healthy_deadline: 10_000_000_000,
            ..UpdateStrategy::default()
        }),
        ..TaskGroup::default()
    };
    (alloc, group)
}

fn tasks(state: &str, restarts: u64, failed: bool) -> BTreeMap<String, LocalTaskState> {
    [(
        "web".to_string(),
        LocalTaskState {
            state: TaskState {
                state: state.into(),
                restarts,
                ..TaskState::default()
            },
            failed,
            ..LocalTaskState::default()
        },
    )]
    .into()
}

#[test]
fn healthy_after_min_healthy_time_unless_restarted_or_failed() {
    let (alloc, group) = setup();
    let plan = orch_core::lifecycle::plan(&group).unwrap();
    let t0 = Instant::now();
    let mut h = HealthTracker::new(&alloc, &group, &plan, t0).unwrap();
    assert_eq!(h.observe(&tasks("pending", 0, false), None, t0), None);
    assert_eq!(h.observe(&tasks("running", 0, false), None, t0), None);
    assert_eq!(h.next_check(), t0 + Duration::from_secs(1));
    // A restart resets the clock.
    let t1 = t0 + Duration::from_millis(900);
    assert_eq!(h.observe(&tasks("running", 1, false), None, t1), None);
    assert_eq!(
        h.observe(
            &tasks("running", 1, false),
            None,
            t1 + Duration::from_millis(500)
        ),
        None
    );
    assert_eq!(
        h.observe(
            &tasks("running", 1, false),
            None,
            t1 + Duration::from_secs(1)
        ),
        Some(true)
    );
    // A failure is unhealthy at once; so is the deadline.
    let mut h = HealthTracker::new(&alloc, &group, &plan, t0).unwrap();
    assert_eq!(h.observe(&tasks("dead", 2, true), None, t0), Some(false));
    let mut h = HealthTracker::new(&alloc, &group, &plan, t0).unwrap();
    assert_eq!(
        h.observe(
            &tasks("pending", 0, false),
            None,
            t0 + Duration::from_secs(11)
        ),
        Some(false)
    );
}

/// The stalled deployment of issue 24: an allocation whose first deployment has no
/// verdict yet is updated in place into a second one; its health is decided for the
/// second, after `min_healthy_time` counted from the update.
#[test]
fn an_update_into_a_new_deployment_restarts_the_watch_for_it() {
    let (mut alloc, group) = setup();
    let plan = orch_core::lifecycle::plan(&group).unwrap();
    let t0 = Instant::now();
    let running = tasks("running", 0, false);
    let mut h = HealthTracker::new(&alloc, &group, &plan, t0);
    assert_eq!(h.as_mut().unwrap().observe(&running, None, t0), None);
    // Same deployment: the same tracker, its clock kept.
    let kept = HealthTracker::after_update(h.clone(), &alloc, &group, &plan, None, t0);
    assert_eq!(kept.as_ref().unwrap().running_since, Some(t0));
    // Moved into d2 before d1 was decided.
    alloc.deployment_id = "d2".into();
    let t1 = t0 + Duration::from_millis(500);
    let mut moved = HealthTracker::after_update(h, &alloc, &group, &plan, None, t1).unwrap();
    assert_eq!(moved.deployment_id, "d2");
    assert_eq!(moved.observe(&running, None, t1), None);
    assert_eq!(
        moved.observe(&running, None, t1 + Duration::from_secs(1)),
        Some(true)
    );
    // Moved into d3 after d2 was decided (no tracker left): a new one for d3.
    alloc.deployment_id = "d3".into();
    let again = HealthTracker::after_update(None, &alloc, &group, &plan, Some("d2"), t1);
    assert_eq!(again.unwrap().deployment_id, "d3");
    // Nothing to track for a deployment that already has its verdict.
    let done = HealthTracker::after_update(None, &alloc, &group, &plan, Some("d3"), t1);
    assert!(done.is_none());
}

#[test]
fn no_tracker_without_deployment_or_with_manual_health() {
    let (mut alloc, mut group) = setup();
    let plan = orch_core::lifecycle::plan(&group).unwrap();
    let now = Instant::now();
    if let Some(u) = group.update.as_mut() {
        u.health_check = "manual".into();
    }
    assert!(HealthTracker::new(&alloc, &group, &plan, now).is_none());
    alloc.deployment_id.clear();
    assert!(HealthTracker::new(&alloc, &setup().1, &plan, now).is_none());
}
