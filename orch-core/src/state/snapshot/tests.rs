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
    wrong_format[0] = 99;
    let err = StateStore::restore(&wrong_format).unwrap_err();
    assert!(err.to_string().contains("format 99"), "{err}");
}

/// Formats 9 down to 4 have the job layout before orch's task dependencies: refused by
/// name, never decoded wrongly.
#[test]
fn formats_before_the_task_dependencies_are_refused_by_name() {
    let s = populated();
    let bytes = s.snapshot().unwrap();
    assert_eq!(bytes[0], SNAPSHOT_FORMAT as u8);
    for old in 4..SNAPSHOT_FORMAT {
        let mut v = bytes.clone();
        v[0] = old as u8;
        let err = StateStore::restore(&v).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("format {old} was written by an older orch")),
            "{err}"
        );
    }
}
