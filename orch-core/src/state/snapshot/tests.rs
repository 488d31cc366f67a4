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

/// Formats 10 down to 4 have the job layout before orch's task dependencies: refused
/// by name, never decoded wrongly.
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

/// Sections: the job sources travel in the snapshot; a section this build does not
/// know, or one written twice, is refused by name instead of being dropped.
#[test]
fn sections_round_trip_and_unknown_ones_are_refused() {
    let mut s = populated();
    let index = s.latest_index() + 1;
    let sub = crate::model::JobSubmission {
        source: "job \"web\" {}".into(),
        format: "hcl2".into(),
        ..Default::default()
    };
    let mut job = job("web");
    job.meta.insert("changed".into(), "1".into());
    let cmd = crate::state::Command::JobRegisterSubmitted(crate::state::JobRegisterSubmitted {
        register: match register(job) {
            crate::state::Command::JobRegister(r) => r,
            _ => unreachable!("testutil::register builds a JobRegister"),
        },
        submission: sub,
    });
    let r = s.apply(index, cmd).unwrap();
    assert!(s.job_submission("default", "web", r.job_version).is_some());
    let bytes = s.snapshot().unwrap();
    let back = StateStore::restore(&bytes).unwrap();
    assert_eq!(back, s);
    assert_eq!(
        back.job_submission("default", "web", r.job_version)
            .map(|x| x.format.as_str()),
        Some("hcl2")
    );
    let tail = postcard::to_allocvec(&s.sections().unwrap()).unwrap();
    let head = &bytes[..bytes.len() - tail.len()];
    for bad in [
        vec![("tables_from_the_future".to_string(), vec![0u8])],
        vec![
            ("job_submissions".to_string(), vec![0u8]),
            ("job_submissions".to_string(), vec![0u8]),
        ],
    ] {
        let mut b = head.to_vec();
        b.extend(postcard::to_allocvec(&bad).unwrap());
        let err = StateStore::restore(&b).unwrap_err().to_string();
        assert!(
            err.contains("tables_from_the_future") || err.contains("twice"),
            "{err}"
        );
    }
}
