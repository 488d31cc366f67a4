//! Property: with no update limits, applying the results leaves exactly `count` live
//! allocations with unique names, whatever mix of statuses and nodes came in.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::tests::{NOW, S, World, alloc, job};
use crate::model::{Node, client_status, desired_status, node_status};

fn statuses() -> impl Strategy<Value = (u8, bool, bool)> {
    (0u8..6, any::<bool>(), any::<bool>())
}

proptest! {
    #[test]
    fn live_count_matches_and_names_unique(
        count in 0u32..8,
        slots in proptest::collection::btree_map(0u32..12, statuses(), 0..12),
        extra_terminal in proptest::collection::vec(0u32..12, 0..4),
    ) {
        let j = job(count);
        let mut allocs = Vec::new();
        for (&i, &(status, on_down, migrate)) in &slots {
            let mut a = alloc(&j, i);
            a.client_status = match status {
                0 | 1 => client_status::RUNNING,
                2 => client_status::PENDING,
                3 => client_status::COMPLETE,
                4 => client_status::FAILED,
                _ => client_status::LOST,
            }
            .into();
            if status == 4 {
                a.modify_time = NOW - 3600 * S;
            }
            if on_down {
                a.node_id = "down".into();
            }
            a.desired_transition.migrate = Some(migrate);
            allocs.push(a);
        }
        for (k, &i) in extra_terminal.iter().enumerate() {
            let mut a = alloc(&j, i);
            a.id = format!("t{k}");
            a.desired_status = desired_status::STOP.into();
            a.client_status = client_status::COMPLETE.into();
            allocs.push(a);
        }
        let mut w = World::new(j, allocs);
        w.tainted.insert(
            "down".into(),
            Node { id: "down".into(), status: node_status::DOWN.into(), ..Node::default() },
        );
        let r = w.run();
        let again = w.run();
        prop_assert_eq!(&r, &again);

        let gone: BTreeSet<&str> = r
            .stop
            .iter()
            .map(|s| s.alloc_id.as_str())
            .chain(r.destructive_update.iter().map(|d| d.stop_alloc_id.as_str()))
            .collect();
        let mut live: Vec<String> = w
            .allocs
            .iter()
            .filter(|a| !a.terminal() && !gone.contains(a.id.as_str()))
            .map(|a| a.name.clone())
            .collect();
        live.extend(r.place.iter().map(|p| p.name.clone()));
        live.extend(r.destructive_update.iter().map(|d| d.place.name.clone()));
        prop_assert_eq!(live.len(), count as usize, "live {:?}", live);
        let unique: BTreeSet<&String> = live.iter().collect();
        prop_assert_eq!(unique.len(), live.len(), "names {:?}", live);
    }
}

/// One allocation of the equivalence property: status, node, version, transition,
/// successor and canary flag, each drawn so the one-pass case is common.
fn lost_case() -> impl Strategy<Value = (u8, u8, bool, bool, bool, bool)> {
    (0u8..40, 0u8..16, 0u8..30, 0u8..30, 0u8..8, 0u8..40).prop_map(
        |(status, node, older, transition, next, canary)| {
            // Disturbances are rare, so many draws are jobs at rest but for lost ones.
            let status = if status < 30 { status % 7 } else { status - 24 };
            let node = if node < 12 { node % 6 } else { node - 6 };
            (
                status,
                node,
                older == 0,
                transition == 0,
                next == 0,
                canary == 0,
            )
        },
    )
}

/// The deployment of the equivalence property, by kind.
fn lost_deployment(kind: u8, j: &crate::model::Job) -> Option<crate::model::Deployment> {
    use crate::model::{Deployment, DeploymentState, deployment_status};
    let status = match kind {
        0 => return None,
        1 | 2 => deployment_status::RUNNING,
        3 => deployment_status::SUCCESSFUL,
        4 => deployment_status::PAUSED,
        5 => deployment_status::FAILED,
        _ => deployment_status::CANCELLED,
    };
    let mut states = std::collections::BTreeMap::new();
    states.insert(
        "g".to_string(),
        DeploymentState {
            desired_total: 3,
            healthy_allocs: if kind == 2 { 3 } else { 0 },
            desired_canaries: u32::from(kind == 6),
            ..DeploymentState::default()
        },
    );
    Some(Deployment {
        id: "d1".into(),
        job_version: if kind == 7 { j.version + 1 } else { j.version },
        job_create_index: j.create_index,
        status: status.into(),
        task_groups: states,
        ..Deployment::default()
    })
}

proptest! {
    /// Whenever the one-pass reconciliation of lost allocations answers, it answers
    /// exactly what the full reconciler does on the same input.
    #[test]
    fn lost_only_matches_the_full_reconciler(
        cases in proptest::collection::vec(lost_case(), 0..10),
        count_delta in 0u8..6,
        deployment in 0u8..9,
        batch in any::<bool>(),
    ) {
        let mut w = World::new(job(0), Vec::new());
        w.update(|_| {});
        w.batch = batch;
        let j = w.job.clone();
        let mut live = 0u32;
        for (i, &(status, node, older, migrate, next, canary)) in cases.iter().enumerate() {
            let mut a = alloc(&j, i as u32);
            a.client_status = match status {
                0..=5 => client_status::RUNNING,
                6 | 7 => client_status::PENDING,
                8 => client_status::COMPLETE,
                9 => client_status::FAILED,
                10 => client_status::LOST,
                _ => client_status::UNKNOWN,
            }
            .into();
            if status == 7 {
                a.desired_status = desired_status::STOP.into();
            }
            a.node_id = match node {
                0..=3 => "n1",
                4 | 5 => "down",
                6 => "gone",
                _ => if status % 2 == 0 { "disc" } else { "drain" },
            }
            .into();
            if older {
                a.job_version = j.version - 1;
            }
            if migrate {
                a.desired_transition.migrate = Some(true);
            }
            if next {
                a.next_allocation = format!("next-{i}");
            }
            if canary {
                a.deployment_status = Some(crate::model::AllocDeploymentStatus {
                    canary: true,
                    ..Default::default()
                });
            }
            if !a.terminal() {
                live += 1;
            }
            w.allocs.push(a);
        }
        let count = match count_delta {
            0 => live.saturating_sub(1),
            5 => live + 1,
            _ => live,
        };
        w.job.task_groups[0].count = count;
        w.versions.insert(w.job.version, w.job.clone());
        w.deployment = lost_deployment(deployment, &w.job);
        for (id, status) in [
            ("down", node_status::DOWN),
            ("disc", node_status::DISCONNECTED),
        ] {
            w.tainted.insert(
                id.into(),
                Node { id: id.into(), status: status.into(), ..Node::default() },
            );
        }
        w.tainted.insert(
            "drain".into(),
            Node {
                id: "drain".into(),
                status: node_status::READY.into(),
                drain_strategy: Some(Default::default()),
                ..Node::default()
            },
        );
        w.missing.insert("gone".into());
        let (fast, full) = w.run_both();
        if let Some(fast) = fast {
            prop_assert_eq!(fast, full);
        }
    }
}

/// The one-pass reconciliation does answer the case it is for: a job at rest with
/// allocations on a down node (so the property above is not vacuous).
#[test]
fn lost_only_answers_a_job_at_rest_with_lost_allocations() {
    let j = job(4);
    let mut allocs: Vec<_> = (0..4).map(|i| alloc(&j, i)).collect();
    allocs[1].node_id = "down".into();
    let mut w = World::new(j, allocs);
    w.tainted.insert(
        "down".into(),
        Node {
            id: "down".into(),
            status: node_status::DOWN.into(),
            ..Node::default()
        },
    );
    let (fast, full) = w.run_both();
    assert_eq!(fast.as_ref(), Some(&full));
    assert_eq!(full.place.len(), 1);
    assert_eq!(full.stop.len(), 1);
}
