use super::*;

#[test]
fn the_last_error_of_a_peer_is_kept_until_it_answers_again() {
    let contacts = Contacts::default();
    contacts.peer_failed(7, "HTTP 413 Payload Too Large".into());
    let c = contacts.peer(7);
    assert!(c.last_ok.is_none());
    assert_eq!(c.last_error.unwrap().1, "HTTP 413 Payload Too Large");
    contacts.peer_answered(7);
    assert!(contacts.peer(7).last_ok.is_some());
    assert!(contacts.since_leader().is_none());
    contacts.heard_from_leader();
    assert!(contacts.since_leader().is_some());
    assert!(contacts.since_any_peer().is_some());
}

#[test]
fn a_quorum_is_silent_for_as_long_as_its_latest_answer_is_old() {
    let contacts = Contacts::default();
    // One voter: its own quorum.
    assert_eq!(contacts.quorum_silence(1, &[1]), Some(Duration::ZERO));
    // Three voters: one answer besides the leader's own makes a quorum.
    assert_eq!(contacts.quorum_silence(1, &[1, 2, 3]), None);
    contacts.peer_answered(2);
    assert!(contacts.quorum_silence(1, &[1, 2, 3]).unwrap() < Duration::from_secs(1));
    // Five voters need two answers: the older of the two newest counts.
    assert_eq!(contacts.quorum_silence(1, &[1, 2, 3, 4, 5]), None);
    contacts.peer_answered(4);
    assert!(contacts.quorum_silence(1, &[1, 2, 3, 4, 5]).is_some());
    // A failure is no answer.
    contacts.peer_failed(5, "unreachable".into());
    assert!(contacts.quorum_silence(1, &[1, 5]).is_none());
}

#[test]
fn a_follower_is_unhealthy_when_the_leader_is_silent_or_it_trails_far() {
    let limit = Limits {
        last_contact: Duration::from_secs(1),
        max_trailing: MAX_TRAILING_ENTRIES,
    };
    let ok = Some(Duration::from_millis(100));
    assert_eq!(follower_reason("l:1", ok, limit, 3, true), "");
    let silent = follower_reason("l:1", Some(Duration::from_secs(5)), limit, 0, false);
    assert!(
        silent.starts_with("no word from the leader at l:1 for 5000 ms"),
        "{silent}"
    );
    let never = follower_reason("l:1", None, limit, 0, false);
    assert!(never.contains("for ever"), "{never}");
    let stuck = follower_reason("l:1", ok, limit, 9_500, true);
    assert!(
        stuck.starts_with("9500 entries behind the leader (not catching up"),
        "{stuck}"
    );
    let catching = follower_reason("l:1", ok, limit, 251, false);
    assert!(catching.contains("(catching up)"), "{catching}");
}

#[test]
fn a_peer_reason_names_the_lag_and_the_error() {
    let p = ServerProgress {
        last_contact_ms: None,
        last_index: 3,
        lag: 9_500,
        healthy: false,
        last_error: "HTTP 413".into(),
        ..ServerProgress::default()
    };
    assert_eq!(
        peer_reason(5, &p),
        "server 5 trails by 9500 entries, never answered; last error: HTTP 413"
    );
}

#[test]
fn the_autopilot_configuration_sets_the_limits_above_the_floor() {
    let floor = Duration::from_secs(1);
    let mut c = orch_core::model::AutopilotConfiguration::default();
    let l = Limits::of(&c, floor);
    assert_eq!(
        (l.last_contact, l.max_trailing),
        (floor, 250),
        "200ms is under the floor"
    );
    c.last_contact_threshold_nanos = 5_000_000_000;
    c.max_trailing_logs = 10;
    let l = Limits::of(&c, floor);
    assert_eq!(
        (l.last_contact, l.max_trailing),
        (Duration::from_secs(5), 10)
    );
    assert!(!follower_reason("l:1", Some(Duration::from_secs(1)), l, 11, false).is_empty());
}
