use super::*;
use crate::state::testutil::*;

#[test]
fn empty_store_round_trips() {
    let s = StateStore::new();
    let bytes = s.snapshot().unwrap();
    let r = StateStore::restore(&bytes).unwrap();
    assert_eq!(r, s);
    assert_eq!(r.snapshot().unwrap(), bytes);
}

#[test]
fn populated_store_round_trips_with_indexes() {
    let s = populated();
    let bytes = s.snapshot().unwrap();
    let r = StateStore::restore(&bytes).unwrap();
    assert_eq!(r, s, "derived indexes must be rebuilt identically");
    assert_eq!(r.snapshot().unwrap(), bytes);
    assert_eq!(r.allocs_by_node("n1").len(), s.allocs_by_node("n1").len());
}

#[test]
fn corrupt_snapshots_are_refused() {
    let bytes = populated().snapshot().unwrap();
    let err = StateStore::restore(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, StateError::Snapshot(_)), "{err}");
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(StateStore::restore(&extra).is_err());
    let mut wrong_format = bytes;
    wrong_format[0] = 9;
    let err = StateStore::restore(&wrong_format).unwrap_err();
    assert!(err.to_string().contains("format 9"), "{err}");
}

/// Format 6 is format 7 without the trailing scheduler configuration: it restores with
/// the default configuration, everything else unchanged.
#[test]
fn format_6_restores_with_the_default_scheduler_config() {
    let s = populated();
    let bytes = s.snapshot().unwrap();
    assert_eq!(bytes[0], SNAPSHOT_FORMAT as u8);
    let tail = postcard::to_allocvec(&crate::model::SchedulerConfiguration::default()).unwrap();
    assert!(bytes.ends_with(&tail));
    let mut v6 = bytes[..bytes.len() - tail.len()].to_vec();
    v6[0] = 6;
    let r = StateStore::restore(&v6).unwrap();
    assert_eq!(r, s);
    assert_eq!(
        r.snapshot().unwrap(),
        bytes,
        "rewritten in the current format"
    );
    let mut v5 = v6;
    v5[0] = 5;
    let err = StateStore::restore(&v5).unwrap_err();
    assert!(
        err.to_string()
            .contains("format 5 was written by an older orch"),
        "{err}"
    );
}
