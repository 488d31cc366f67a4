use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use openraft::{BasicNode, Membership, StoredMembership};

use super::*;

/// A lease nothing outlasts in a test, and one everything does (after [`pause`]): the
/// tests judge the same contacts against both instead of sleeping past a threshold.
const LONG: Duration = Duration::from_secs(3600);
const SHORT: Duration = Duration::from_millis(1);

fn metrics(me: NodeId, state: ServerState, leader: Option<NodeId>) -> Metrics {
    let voters: BTreeSet<NodeId> = [1, 2, 3].into();
    let nodes: BTreeMap<NodeId, BasicNode> = voters
        .iter()
        .map(|&id| (id, BasicNode::default()))
        .collect();
    let mut m = Metrics::new_initial(me);
    m.state = state;
    m.current_leader = leader;
    m.membership_config = Arc::new(StoredMembership::new(
        None,
        Membership::new(vec![voters], nodes),
    ));
    m
}

/// Outlasts three [`SHORT`] leases.
fn pause() {
    std::thread::sleep(SHORT * 4);
}

#[test]
fn a_leader_is_cut_off_once_no_quorum_answered_for_the_lease() {
    let contacts = Contacts::default();
    let m = metrics(1, ServerState::Leader, Some(1));
    // Nobody answered yet: just elected or started, not judged.
    pause();
    assert_eq!(evaluate(&m, &contacts, SHORT), None);
    contacts.peer_answered(2);
    pause();
    assert_eq!(evaluate(&m, &contacts, LONG), None);
    let why = evaluate(&m, &contacts, SHORT).expect("cut off");
    assert!(why.contains("has not heard from a quorum"), "{why}");
    // A follower is no quorum.
    let follower = metrics(2, ServerState::Follower, None);
    assert_eq!(evaluate(&follower, &Contacts::default(), SHORT), None);
}

#[test]
fn a_follower_is_cut_off_only_when_no_peer_reaches_it() {
    let contacts = Contacts::default();
    let m = metrics(2, ServerState::Follower, Some(1));
    // Never heard from anyone (just started): requests wait as before.
    pause();
    assert_eq!(evaluate(&m, &contacts, SHORT), None);
    contacts.heard_from_leader();
    pause();
    assert_eq!(evaluate(&m, &contacts, LONG), None);
    let why = evaluate(&m, &contacts, SHORT).expect("cut off");
    assert!(why.contains("cannot reach the leader (server 1)"), "{why}");
    // A candidate's vote request is contact too: an election is going on around it.
    let electing = metrics(2, ServerState::Candidate, None);
    contacts.heard_from_peer();
    assert_eq!(evaluate(&electing, &contacts, LONG), None);
    pause();
    let why = evaluate(&electing, &contacts, SHORT).expect("cut off");
    assert!(why.contains("cannot reach a leader"), "{why}");
}
