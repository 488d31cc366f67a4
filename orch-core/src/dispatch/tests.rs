use super::*;
use crate::model::ParameterizedJobConfig;

fn parent(payload: &str) -> Job {
    Job {
        id: "p".into(),
        job_type: "batch".into(),
        parameterized_job: Some(ParameterizedJobConfig {
            payload: payload.into(),
            meta_required: vec!["a".into()],
            meta_optional: vec!["b".into()],
        }),
        meta: BTreeMap::from([("x".into(), "1".into()), ("a".into(), "parent".into())]),
        ..Job::default()
    }
}

fn meta(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn dispatch_requests_are_checked_against_the_parameterized_block() {
    let ok = meta(&[("a", "1")]);
    assert_eq!(validate(&parent("optional"), 0, &ok), Ok(()));
    assert_eq!(validate(&parent("optional"), 10, &ok), Ok(()));
    assert_eq!(
        validate(&parent("forbidden"), 1, &ok),
        Err(DispatchError::PayloadForbidden)
    );
    assert_eq!(
        validate(&parent("required"), 0, &ok),
        Err(DispatchError::PayloadRequired)
    );
    assert_eq!(
        validate(&parent("optional"), PAYLOAD_SIZE_LIMIT + 1, &ok),
        Err(DispatchError::PayloadTooLarge(PAYLOAD_SIZE_LIMIT + 1))
    );
    let err = validate(&parent("optional"), 0, &meta(&[("b", "1")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dispatch did not provide required meta keys: [\"a\"]"
    );
    assert_eq!(
        validate(&parent("optional"), 0, &meta(&[("a", "1"), ("zz", "2")])),
        Err(DispatchError::UnpermittedMeta(vec!["zz".into()]))
    );
    let mut plain = parent("optional");
    plain.parameterized_job = None;
    assert!(matches!(
        validate(&plain, 0, &ok),
        Err(DispatchError::NotParameterized(_))
    ));
    let mut child = parent("optional");
    child.dispatched = true;
    assert!(
        validate(&child, 0, &ok).is_err(),
        "children are not parents"
    );
    let mut stopped = parent("optional");
    stopped.stop = true;
    assert!(matches!(
        validate(&stopped, 0, &ok),
        Err(DispatchError::Stopped(_))
    ));
}

#[test]
fn children_merge_meta_and_carry_the_payload() {
    let mut p = parent("optional");
    p.version = 3;
    p.status = "running".into();
    let c = derive_child(
        &p,
        1_700_000_000_123_000_000,
        "0123abcd",
        &meta(&[("a", "mine")]),
        "aGk=",
        "tok",
    );
    assert_eq!(c.id, "p/dispatch-1700000000-0123abcd");
    assert_eq!(c.name, c.id);
    assert_eq!(c.parent_id, "p");
    assert!(c.dispatched && !c.is_template());
    assert_eq!(c.meta["a"], "mine");
    assert_eq!(c.meta["x"], "1");
    assert_eq!(c.payload, "aGk=");
    assert_eq!(c.dispatch_idempotency_token, "tok");
    assert_eq!((c.version, c.status.as_str()), (0, ""));
}

#[test]
fn an_id_prefix_goes_between_dispatch_and_the_time() {
    let now = 1_700_000_000_123_000_000;
    assert_eq!(
        dispatched_id("p", "", now, "ab"),
        "p/dispatch-1700000000-ab"
    );
    assert_eq!(
        dispatched_id("p", "nightly", now, "ab"),
        "p/dispatch-nightly-1700000000-ab"
    );
    assert!(check_id_prefix("nightly_run-1").is_ok());
    assert!(
        check_id_prefix("has space")
            .unwrap_err()
            .contains("IdPrefixTemplate")
    );
    assert!(check_id_prefix(&"x".repeat(129)).is_err());
}
