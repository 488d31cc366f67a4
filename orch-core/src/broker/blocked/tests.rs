use crate::model::Node;
use proptest::prelude::*;

use super::*;
use crate::model::AllocationMetric;

fn blocked(id: &str, job: &str, create_index: u64, snapshot_index: u64) -> Evaluation {
    Evaluation {
        id: id.to_owned(),
        namespace: "default".to_owned(),
        job_id: job.to_owned(),
        eval_type: "service".to_owned(),
        priority: 50,
        status: eval_status::BLOCKED.to_owned(),
        triggered_by: trigger::QUEUED_ALLOCS.to_owned(),
        create_index,
        modify_index: create_index,
        snapshot_index,
        ..Evaluation::default()
    }
}

fn with_classes(mut e: Evaluation, classes: &[(&str, bool)]) -> Evaluation {
    e.class_eligibility = classes
        .iter()
        .map(|(c, ok)| ((*c).to_owned(), *ok))
        .collect();
    e
}

fn ids(evals: &[Evaluation]) -> Vec<&str> {
    evals.iter().map(|e| e.id.as_str()).collect()
}

#[test]
fn block_tracks_one_eval_per_job_newer_replaces_older() {
    let mut b = BlockedEvals::new();
    assert_eq!(
        b.block(blocked("old", "web", 10, 10)),
        BlockOutcome::default()
    );
    let out = b.block(blocked("new", "web", 20, 20));
    let dup = out.duplicate.unwrap();
    assert_eq!(dup.id, "old");
    assert_eq!(dup.status, eval_status::CANCELED);
    assert!(out.unblocked.is_none());
    assert_eq!(b.blocked_by_job("default", "web").unwrap().id, "new");
    assert_eq!(b.len(), 1);

    // An evaluation older than the tracked one is itself the duplicate.
    let out = b.block(blocked("stale", "web", 5, 5));
    assert_eq!(out.duplicate.unwrap().id, "stale");
    assert_eq!(b.blocked_by_job("default", "web").unwrap().id, "new");

    // Re-blocking the same ID is not a duplicate.
    assert_eq!(
        b.block(blocked("new", "web", 20, 21)),
        BlockOutcome::default()
    );
    assert_eq!(b.len(), 1);
}

#[test]
fn unblock_by_class_respects_eligibility() {
    let mut b = BlockedEvals::new();
    b.block(with_classes(blocked("elig", "a", 1, 1), &[("c1", true)]));
    b.block(with_classes(blocked("inelig", "b", 2, 2), &[("c1", false)]));
    b.block(with_classes(
        blocked("unknown", "c", 3, 3),
        &[("c2", false)],
    ));
    let out = b.unblock("c1", 10);
    assert_eq!(ids(&out), ["elig", "unknown"]);
    assert!(out.iter().all(|e| e.status == eval_status::PENDING));
    assert_eq!(b.len(), 1);
    assert!(b.blocked_by_job("default", "a").is_none());
    assert_eq!(b.blocked_by_job("default", "b").unwrap().id, "inelig");
}

#[test]
fn escaped_evals_are_released_by_any_class() {
    let mut b = BlockedEvals::new();
    let mut e = with_classes(blocked("esc", "a", 1, 1), &[("c1", false)]);
    e.escaped_computed_class = true;
    b.block(e);
    b.block(with_classes(blocked("cap", "b", 2, 2), &[("c1", false)]));
    assert_eq!(b.stats().total_escaped, 1);
    assert_eq!(ids(&b.unblock("c1", 5)), ["esc"]);
    assert_eq!(b.stats().total_escaped, 0);
    assert_eq!(b.stats().total_blocked, 1);
}

#[test]
fn missed_unblock_releases_immediately() {
    let mut b = BlockedEvals::new();
    assert!(b.unblock("c1", 100).is_empty());
    assert!(b.unblock("c2", 50).is_empty());

    // Eligible for c1, saw the cluster before c1's change at 100.
    let out = b.block(with_classes(blocked("e1", "a", 90, 90), &[("c1", true)]));
    assert_eq!(out.unblocked.unwrap().status, eval_status::PENDING);
    // Never saw c2 (changed at 50 after its snapshot 40): released.
    let out = b.block(with_classes(blocked("e2", "b", 40, 40), &[("c1", false)]));
    assert_eq!(out.unblocked.unwrap().id, "e2");
    // Ineligible for both classes that changed: stays blocked.
    let out = b.block(with_classes(
        blocked("e3", "c", 40, 40),
        &[("c1", false), ("c2", false)],
    ));
    assert!(out.unblocked.is_none());
    // Snapshot after every change: stays blocked.
    let out = b.block(with_classes(blocked("e4", "d", 100, 100), &[("c1", true)]));
    assert!(out.unblocked.is_none());
    // Escaped with a snapshot older than the newest change: released.
    let mut e = blocked("e5", "e", 60, 60);
    e.escaped_computed_class = true;
    assert!(b.block(e).unblocked.is_some());
    assert_eq!(b.len(), 2);

    b.prune_unblock_indexes(101);
    let out = b.block(with_classes(blocked("e6", "f", 90, 90), &[("c1", true)]));
    assert!(out.unblocked.is_none());
}

#[test]
fn missed_unblock_still_cancels_the_older_duplicate() {
    let mut b = BlockedEvals::new();
    b.block(blocked("old", "web", 1, 1));
    b.unblock("c9", 0);
    b.unblock("other", 50);
    // "old" was released by the unblock; block it again and then a newer missed one.
    b.block(with_classes(
        blocked("old2", "web", 51, 51),
        &[("other", false)],
    ));
    let out = b.block(with_classes(
        blocked("new", "web", 52, 40),
        &[("other", true)],
    ));
    assert_eq!(out.duplicate.unwrap().id, "old2");
    assert_eq!(out.unblocked.unwrap().id, "new");
    assert!(b.is_empty());
}

#[test]
fn unblock_failed_releases_plan_failures_only() {
    let mut b = BlockedEvals::new();
    let mut e = blocked("plan", "a", 1, 1);
    e.triggered_by = trigger::MAX_PLAN_ATTEMPTS.to_owned();
    b.block(e);
    let mut e = blocked("plan-esc", "b", 2, 2);
    e.triggered_by = trigger::MAX_PLAN_ATTEMPTS.to_owned();
    e.escaped_computed_class = true;
    b.block(e);
    b.block(blocked("cap", "c", 3, 3));
    assert_eq!(b.stats().total_plan_failures, 2);
    let out = b.unblock_failed();
    assert_eq!(ids(&out), ["plan", "plan-esc"]);
    assert_eq!(b.len(), 1);
    assert!(b.unblock_failed().is_empty());
}

#[test]
fn unblock_node_uses_its_class_and_its_system_evals() {
    let mut b = BlockedEvals::new();
    let mut sys = with_classes(blocked("sys", "agent", 1, 1), &[("gpu", false)]);
    sys.eval_type = "system".to_owned();
    sys.node_id = "n1".to_owned();
    b.block(sys);
    b.block(with_classes(blocked("svc", "web", 2, 2), &[("gpu", true)]));
    b.block(with_classes(blocked("no", "db", 3, 3), &[("gpu", false)]));
    let node = Node {
        id: "n1".to_owned(),
        computed_class: "gpu".to_owned(),
        ..Node::default()
    };
    let out = b.unblock_node(&node.id, &node.computed_class, 7);
    assert_eq!(ids(&out), ["sys", "svc"]);
    assert_eq!(
        ids(&b.unblock_node(&node.id, &node.computed_class, 8)),
        Vec::<&str>::new()
    );
    assert_eq!(b.len(), 1);
}

#[test]
fn untrack_removes_the_jobs_blocked_eval() {
    let mut b = BlockedEvals::new();
    b.block(blocked("e", "web", 1, 1));
    assert!(b.untrack("prod", "web").is_none());
    assert_eq!(b.untrack("default", "web").unwrap().id, "e");
    assert!(b.is_empty());
    assert!(b.untrack("default", "web").is_none());
    assert!(b.unblock("any", 2).is_empty());
}

#[test]
fn unplaced_counts_per_job_and_group() {
    let mut b = BlockedEvals::new();
    let mut e = blocked("e1", "web", 1, 1);
    e.queued_allocations = [("api".to_owned(), 4), ("idle".to_owned(), 0)].into();
    e.failed_tg_allocs = [
        ("api".to_owned(), AllocationMetric::default()),
        (
            "cache".to_owned(),
            AllocationMetric {
                coalesced_failures: 2,
                ..AllocationMetric::default()
            },
        ),
    ]
    .into();
    b.block(e);
    let mut e = blocked("e2", "batch", 2, 2);
    e.namespace = "jobs".to_owned();
    e.queued_allocations = [("work".to_owned(), 10)].into();
    b.block(e);
    b.block(blocked("e3", "nothing", 3, 3));

    let web = b.unplaced_for_job("default", "web");
    assert_eq!(web, [("api".to_owned(), 4), ("cache".to_owned(), 3)].into());
    let all = b.unplaced();
    assert_eq!(all.len(), 2);
    assert_eq!(all[&("jobs".to_owned(), "batch".to_owned())]["work"], 10);
    assert!(b.unplaced_for_job("default", "nothing").is_empty());
    assert!(b.unplaced_for_job("default", "absent").is_empty());
    assert_eq!(b.stats().by_namespace["jobs"], 1);
    b.flush();
    assert!(b.unplaced().is_empty());
}

proptest! {
    /// Random block/unblock sequences: at most one blocked evaluation per job, and every
    /// evaluation passed to `block` ends exactly once as blocked, released or duplicate.
    #[test]
    fn blocked_evals_conserve_and_keep_one_per_job(
        ops in prop::collection::vec((0u8..4, 0u8..5, 0u8..3, any::<bool>(), 0u64..40), 1..80)
    ) {
        let classes = ["c0", "c1", "c2"];
        let mut b = BlockedEvals::new();
        let (mut released, mut dups, mut given) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (kind, job, class, flag, snap)) in ops.into_iter().enumerate() {
            let index = i as u64 + 1;
            match kind {
                0 | 1 => {
                    let mut e = blocked(&format!("e{i}"), &format!("j{job}"), index, snap);
                    e.class_eligibility.insert(classes[usize::from(class)].to_owned(), flag);
                    e.escaped_computed_class = kind == 1 && flag;
                    given.push(e.id.clone());
                    let out = b.block(e);
                    released.extend(out.unblocked.map(|e| e.id));
                    dups.extend(out.duplicate.map(|e| e.id));
                }
                2 => released.extend(b.unblock(classes[usize::from(class)], index).into_iter().map(|e| e.id)),
                _ => released.extend(b.untrack("default", &format!("j{job}")).map(|e| e.id)),
            }
            let mut jobs = BTreeSet::new();
            for e in b.captured.values().chain(b.escaped.values()) {
                prop_assert!(jobs.insert(e.job_id.clone()), "two blocked evals for {}", e.job_id);
            }
        }
        let mut all: Vec<String> = released;
        all.extend(dups);
        all.extend(b.captured.keys().chain(b.escaped.keys()).cloned());
        all.sort();
        given.sort();
        prop_assert_eq!(all, given);
    }
}
