use super::*;

#[test]
fn names_follow_nomads_pattern() {
    assert!(validate_name("namespace", "team-a1").is_ok());
    assert!(validate_name("namespace", "").is_err());
    assert!(validate_name("namespace", &"a".repeat(129)).is_err());
    let e = validate_name("namespace", "a_b").unwrap_err();
    assert!(e.contains("'_'"), "{e}");
}

#[test]
fn exceeds_names_each_dimension_in_nomads_words() {
    let used = QuotaResources {
        cpu: 400,
        ..Default::default()
    };
    let ask = QuotaResources {
        cpu: 200,
        memory_mb: 10,
        ..Default::default()
    };
    let limit = QuotaResources {
        cpu: 500,
        ..Default::default()
    };
    assert_eq!(
        used.exceeds(&ask, &limit),
        vec!["cpu exhausted (600 needed > 500 limit)".to_string()]
    );
    // Zero is unlimited.
    assert!(used.exceeds(&ask, &QuotaResources::default()).is_empty());
}

#[test]
fn quota_spec_validation_reports_every_problem() {
    let q = QuotaSpec {
        name: "bad name".into(),
        limits: vec![
            QuotaLimit {
                region: "global".into(),
                ..Default::default()
            },
            QuotaLimit {
                region: "global".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let e = q.validate().unwrap_err();
    assert!(e.contains("Name:") && e.contains("Limits[1].Region"), "{e}");
}

#[test]
fn limit_hash_is_stable_and_changes_with_the_limit() {
    let mut l = QuotaLimit {
        region: "global".into(),
        ..Default::default()
    };
    let a = limit_hash(&l);
    assert_eq!(a, limit_hash(&l));
    l.region_limit.cpu = 1;
    assert_ne!(a, limit_hash(&l));
}

#[test]
fn capabilities_enable_and_disable_drivers() {
    let c = NamespaceCapabilities {
        enabled_task_drivers: vec!["raw_exec".into(), "exec".into()],
        disabled_task_drivers: vec!["exec".into()],
    };
    assert!(c.allows("raw_exec"));
    assert!(!c.allows("exec"));
    assert!(!c.allows("docker"));
    assert!(NamespaceCapabilities::default().allows("docker"));
}
