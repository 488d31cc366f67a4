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

/// Format 9 is format 10 without the trailing variables; formats 8, 7 and 6 are format 9
/// without the trailing node pools, then without the
/// autopilot configuration before them, then without the scheduler configuration:
/// they restore with the built-in pools and the default configurations, everything
/// else unchanged.
#[test]
fn formats_8_7_and_6_restore_with_the_default_configurations() {
    let s = populated();
    let bytes = s.snapshot().unwrap();
    assert_eq!(bytes[0], SNAPSHOT_FORMAT as u8);
    let vars = postcard::to_allocvec(&super::super::variables::VarSection::default()).unwrap();
    assert!(bytes.ends_with(&vars));
    let mut v9 = bytes[..bytes.len() - vars.len()].to_vec();
    v9[0] = 9;
    let pools: Vec<crate::model::NodePool> = s.node_pools().cloned().collect();
    let pools = postcard::to_allocvec(&pools).unwrap();
    assert!(v9.ends_with(&pools));
    let mut v8 = v9[..v9.len() - pools.len()].to_vec();
    v8[0] = 8;
    let autopilot =
        postcard::to_allocvec(&crate::model::AutopilotConfiguration::default()).unwrap();
    assert!(v8.ends_with(&autopilot));
    let mut v7 = v8[..v8.len() - autopilot.len()].to_vec();
    v7[0] = 7;
    let sched = postcard::to_allocvec(&crate::model::SchedulerConfiguration::default()).unwrap();
    assert!(v7.ends_with(&sched));
    let mut v6 = v7[..v7.len() - sched.len()].to_vec();
    v6[0] = 6;
    for old in [v9, v8, v7, v6.clone()] {
        let r = StateStore::restore(&old).unwrap();
        assert_eq!(r, s);
        assert_eq!(
            r.snapshot().unwrap(),
            bytes,
            "rewritten in the current format"
        );
    }
    let mut v5 = v6;
    v5[0] = 5;
    let err = StateStore::restore(&v5).unwrap_err();
    assert!(
        err.to_string()
            .contains("format 5 was written by an older orch"),
        "{err}"
    );
}
